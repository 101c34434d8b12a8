//! https webhook delivery (docs/webhooks.md) through the real binary: a receiver here serves TLS
//! with a certificate from a private CA made with rcgen. Trusted through `serve --webhook-ca`, it
//! gets every event, signed and in order, beside a plain http receiver; without the CA, or with
//! a certificate for another name, the delivery fails and `webhook list` says it was the
//! certificate; a `--webhook-ca` that is not a CA file stops `serve` at start, saying why.

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};

use crate::auth_tokens::{Server, create_token};
use crate::helpers::bin;
use crate::webhooks::{Receiver, add, assert_in_order, create_users, expected_signature, python_verifies, run_ok};

/// A private CA, as a company's internal one.
struct Ca {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

impl Ca {
    fn new() -> Ca {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(rcgen::DnType::CommonName, "scimbox test CA");
        let issuer = CertifiedIssuer::self_signed(params, KeyPair::generate().expect("CA key")).expect("CA cert");
        Ca { issuer }
    }

    /// Writes the CA certificate as PEM (what `--webhook-ca` reads).
    fn write_pem(&self, path: &Path) {
        std::fs::write(path, self.issuer.pem()).expect("write the CA");
    }

    /// A TLS server configuration with a certificate this CA signed for `names` (DNS names or
    /// IP addresses).
    fn server_config(&self, names: &[&str]) -> Arc<rustls::ServerConfig> {
        let key = KeyPair::generate().expect("leaf key");
        let names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
        let leaf = CertificateParams::new(names).expect("leaf params").signed_by(&key, &self.issuer).expect("leaf");
        let chain = vec![leaf.der().clone(), self.issuer.der().clone()];
        let key = PrivateKeyDer::from(PrivatePkcs8KeyDer::from(key.serialize_der()));
        #[allow(deprecated)] // the ring provider, as the server's client uses
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("versions")
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .expect("certificate and key");
        Arc::new(config)
    }
}

/// Polls `webhook list` until it contains `what` (or 15 s passed); the last listing.
async fn list_until(db: &Path, what: &str) -> String {
    let until = Instant::now() + Duration::from_secs(15);
    loop {
        let listed = run_ok(&["webhook", "list", "--db", db.to_str().unwrap()]);
        if listed.contains(what) || Instant::now() > until {
            return listed;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Trusted through `--webhook-ca`, an https receiver (by DNS name, `localhost`) gets each event
/// once, in order, signed; a plain http receiver still works beside it; a receiver whose
/// certificate names another host fails with a certificate error that says so.
#[tokio::test]
async fn https_receiver_trusted_with_webhook_ca_gets_signed_events() {
    let dir = tempfile::tempdir().unwrap();
    let db = crate::helpers::fresh_db(dir.path()).await;
    let ca = Ca::new();
    let ca_file = dir.path().join("ca.pem");
    ca.write_pem(&ca_file);
    let token = create_token(&db, "idp", None);
    let server =
        Server::start_with(&db, &dir.path().join("server.log"), &["--webhook-ca", ca_file.to_str().unwrap()], &[])
            .await;

    let secure = Receiver::start_tls(ca.server_config(&["localhost"])).await;
    let plain = Receiver::start().await;
    let wrong_name = Receiver::start_tls(ca.server_config(&["hooks.example"])).await;
    let secure_url = secure.url().replace("127.0.0.1", "localhost");
    assert!(secure_url.starts_with("https://localhost:"), "{secure_url}");
    let secret = add(&db, "secure", &secure_url, Some("user.*"));
    let plain_secret = add(&db, "plain", &plain.url(), Some("user.*"));
    add(&db, "wrong-name", &wrong_name.url(), Some("user.*"));
    tokio::time::sleep(Duration::from_millis(700)).await; // picked up by the server
    create_users(&server, &token, "s", 5).await;

    for (rx, secret) in [(&secure, &secret), (&plain, &plain_secret)] {
        let got = rx.wait_for(5, Duration::from_secs(15)).await;
        let firsts = assert_in_order(&got);
        assert_eq!(firsts.len(), 5, "every event: {}", rx.url());
        let names: Vec<&str> = firsts.iter().map(|g| g.event["data"]["userName"].as_str().unwrap_or("")).collect();
        assert_eq!(names, ["s-000", "s-001", "s-002", "s-003", "s-004"]);
        for g in &got {
            assert_eq!(g.signature, expected_signature(secret, g));
        }
        python_verifies(secret, &got);
    }

    let listed = list_until(&db, "certificate error").await;
    let line = listed.lines().find(|l| l.starts_with("wrong-name")).unwrap_or_default();
    assert!(line.contains("certificate error") && line.contains("not valid for the name \"127.0.0.1\""), "{listed}");
    assert!(wrong_name.got().is_empty(), "nothing delivered to a receiver with another host's certificate");
    for name in ["secure", "plain"] {
        let line = listed.lines().find(|l| l.starts_with(name)).unwrap_or_default();
        assert!(line.contains("delivering") && line.trim_end().ends_with(" -"), "no error for {name}: {listed}");
    }
}

/// Without `--webhook-ca`, the same kind of receiver is not trusted: nothing is delivered and
/// `webhook list` says the certificate is not signed by a public CA, pointing at the flag.
#[tokio::test]
async fn https_receiver_of_an_unknown_ca_fails_with_a_certificate_error() {
    let dir = tempfile::tempdir().unwrap();
    let db = crate::helpers::fresh_db(dir.path()).await;
    let ca = Ca::new();
    let token = create_token(&db, "idp", None);
    let server = Server::start(&db, &dir.path().join("server.log")).await;
    let rx = Receiver::start_tls(ca.server_config(&["127.0.0.1"])).await;
    assert!(rx.url().starts_with("https://127.0.0.1:"));
    add(&db, "untrusted", &rx.url(), None);
    tokio::time::sleep(Duration::from_millis(700)).await;
    create_users(&server, &token, "u", 1).await;
    let listed = list_until(&db, "certificate error").await;
    assert!(
        listed.contains("certificate error: the certificate of 127.0.0.1 is not signed by a public CA")
            && listed.contains("--webhook-ca"),
        "{listed}"
    );
    assert!(listed.contains("1 failed"), "counted as a failed attempt: {listed}");
    assert!(rx.got().is_empty(), "nothing delivered");
}

/// `--webhook-ca` (or `SCIMBOX_WEBHOOK_CA`) naming a missing file, or one without a usable CA
/// certificate, stops `serve` at start with a message that names the flag and the problem.
#[test]
fn a_bad_webhook_ca_stops_serve_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("scimbox.db");
    let junk = dir.path().join("junk.pem");
    std::fs::write(&junk, "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n").unwrap();
    let text = dir.path().join("notes.txt");
    std::fs::write(&text, "hello\n").unwrap();
    let missing = dir.path().join("missing.pem");
    let cases = [
        (missing.to_str().unwrap(), false, "cannot read"),
        (junk.to_str().unwrap(), true, "not a usable CA certificate"),
        (text.to_str().unwrap(), false, "holds no PEM certificate"),
    ];
    for (file, by_env, says) in cases {
        let mut cmd = Command::new(bin());
        cmd.args(["serve", "--db", db.to_str().unwrap(), "--listen", "127.0.0.1:0"]);
        if by_env {
            cmd.env("SCIMBOX_WEBHOOK_CA", file);
        } else {
            cmd.args(["--webhook-ca", file]);
        }
        let mut child = cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().expect("serve");
        let until = Instant::now() + Duration::from_secs(20);
        let status = loop {
            if let Some(status) = child.try_wait().expect("wait") {
                break status;
            }
            if Instant::now() > until {
                let _ = child.kill();
                panic!("serve kept running with --webhook-ca {file}");
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        let out = child.wait_with_output().expect("output");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!status.success(), "serve must stop: {err}");
        assert!(err.contains("--webhook-ca") && err.contains(says), "{file}: {err}");
    }
}
