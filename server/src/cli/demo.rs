//! `scimbox demo`: a throwaway server with sample data, an admin login and simulated Okta and
//! Entra ID traffic (see [`crate::demo`]), until Ctrl-C.

use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::Args;

use crate::config::Config;
use crate::db::Db;
use crate::demo::{self, Event, Options};
use crate::http::AppState;

#[derive(Debug, Args)]
pub(super) struct DemoArgs {
    /// The address to listen on: a loopback address, or an unspecified one such as
    /// 0.0.0.0:8080 (the simulated IdPs always connect over loopback). Port 0 picks a free one.
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// How fast the simulated IdPs send: 1 is a human pace (a few requests a second), 2 twice
    /// as fast, 0.5 half.
    #[arg(long, default_value_t = 1.0, value_name = "N")]
    speed: f64,
    /// Do not print each simulated request.
    #[arg(long)]
    quiet: bool,
}

/// A temporary directory, deleted when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Result<Self, String> {
        let name = format!("scimbox-demo-{}-{}", std::process::id(), &uuid::Uuid::new_v4().simple().to_string()[..8]);
        let dir = std::env::temp_dir().join(name);
        std::fs::create_dir(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        Ok(Scratch(dir))
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        match std::fs::remove_dir_all(&self.0) {
            Ok(()) => eprintln!("deleted the demo database ({})", self.0.display()),
            Err(e) => eprintln!("could not delete {}: {e}", self.0.display()),
        }
    }
}

/// Where the simulated IdPs connect for a server listening on `bound`: itself when loopback,
/// the loopback address of its family when unspecified, nothing otherwise.
fn loopback_for(bound: SocketAddr) -> Option<SocketAddr> {
    let ip = bound.ip();
    match ip {
        _ if ip.is_loopback() => Some(bound),
        IpAddr::V4(v4) if v4.is_unspecified() => Some(SocketAddr::new(Ipv4Addr::LOCALHOST.into(), bound.port())),
        IpAddr::V6(v6) if v6.is_unspecified() => Some(SocketAddr::new(Ipv6Addr::LOCALHOST.into(), bound.port())),
        _ => None,
    }
}

pub(super) fn run(args: DemoArgs) -> Result<(), String> {
    if !(args.speed.is_finite() && args.speed > 0.0 && args.speed <= 100.0) {
        return Err(format!("--speed must be above 0 and at most 100, not {}", args.speed));
    }
    if loopback_for(args.listen).is_none() {
        return Err(format!(
            "--listen {}: the demo listens on a loopback address (127.0.0.1:8080) or on all of them (0.0.0.0:8080), \
             because its simulated IdPs only connect over loopback",
            args.listen
        ));
    }
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).init();
    let scratch = Scratch::new()?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("starting the runtime: {e}"))?;
    let out = rt.block_on(demo(args, scratch.path()));
    drop(rt);
    drop(scratch);
    out
}

async fn demo(args: DemoArgs, dir: &Path) -> Result<(), String> {
    let db_path = dir.join("scimbox.db");
    let db = Db::open(&db_path).map_err(|e| e.to_string())?;
    let creds = demo::seed(&db).await.map_err(|e| format!("seeding the demo database: {e}"))?;
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e} (try --listen 127.0.0.1:0)", args.listen))?;
    let bound = listener.local_addr().map_err(|e| e.to_string())?;
    let target = loopback_for(bound).unwrap_or(bound);
    let config = Config::new(db_path.clone(), bound);
    let base = format!("http://{target}{}", config.base_path);
    let origin = format!("http://{target}");

    // Webhook delivery, as `serve` runs it (`crate::run`): an endpoint added to the demo's
    // database with `scimbox webhook add` gets its events.
    let delivery = {
        let (db, base) = (db.clone(), base.clone());
        let instance = format!("{bound} pid {}", std::process::id());
        // The demo has no --webhook-ca: public roots only.
        let tls = crate::webhooks::Tls::new(None).map_err(|e| format!("webhook TLS: {e}"))?;
        crate::supervise::spawn("webhooks", move || {
            crate::webhooks::run(db.clone(), base.clone(), 1.0, tls.clone(), instance.clone())
        })
    };
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(crate::serve(AppState::new(db, config), listener, async move {
        let _ = stopped.await;
    }));

    println!(
        "\nscimbox demo: a throwaway server with sample data and simulated IdP traffic.\n\
         \n  status page   {origin}/\n  log in as     {admin} / {password}\n  SCIM base URL {base}\n  \
         bearer token  {token}\n\n  try: curl -H 'Authorization: Bearer {token}' {base}/Users\n\n\
         Accounts: ACME (Acme Corp) with ACME-EU and ACME-US below it, and GLOBEX; roles Admin, Editor, Viewer.\n\
         Simulated IdPs: \"{okta}\" (Okta, User-Agent \"{ua}\") and \"{entra}\" (Entra ID, no User-Agent), each with \
         its own token.\n\
         The database lives in {dir} and is deleted when the demo stops. Press Ctrl-C to stop.\n",
        admin = creds.admin,
        password = creds.password,
        token = creds.token,
        okta = demo::OKTA_TOKEN,
        entra = demo::ENTRA_TOKEN,
        ua = demo::OKTA_USER_AGENT,
        dir = dir.display(),
    );
    let _ = std::io::stdout().flush();

    let quiet = args.quiet;
    let observe: demo::Observer = Arc::new(move |e: &Event| {
        if !quiet {
            let path: String = e.path.chars().take(60).collect();
            println!("  {:<5} {:<5} {:<60} {}  {}", e.idp.name(), e.method, path, e.status, e.what);
            if let Some(detail) = &e.detail {
                println!("        refused: {detail}");
            }
        }
    });
    let options = Options {
        base,
        okta_token: creds.okta_token.clone(),
        entra_token: creds.entra_token.clone(),
        speed: args.speed,
        rounds: None,
    };
    let simulation = demo::simulate(options, observe);
    tokio::pin!(simulation);
    let shutdown = super::shutdown_signal();
    tokio::pin!(shutdown);
    tokio::select! {
        result = &mut simulation => {
            match result {
                Ok(report) => eprintln!("the simulated IdPs stopped after {} requests", report.requests),
                Err(e) => eprintln!("the simulated IdPs stopped: {e}"),
            }
            eprintln!("the server keeps running; press Ctrl-C to stop");
            shutdown.await;
        }
        () = &mut shutdown => {}
    }
    eprintln!("stopping");
    delivery.abort();
    let _ = stop.send(());
    match server.await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(e.to_string()),
        Err(e) => Err(format!("the server task failed: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn simulated_idps_connect_over_loopback_only() {
        let at = |s: &str| loopback_for(s.parse().unwrap()).map(|a| a.to_string());
        assert_eq!(at("127.0.0.1:8080").as_deref(), Some("127.0.0.1:8080"));
        assert_eq!(at("0.0.0.0:9000").as_deref(), Some("127.0.0.1:9000"));
        assert_eq!(at("[::]:9000").as_deref(), Some("[::1]:9000"));
        assert_eq!(at("192.168.1.5:8080"), None);
    }
}
