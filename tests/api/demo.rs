//! `scimbox demo`'s parts against a real server (issue 6 item 5): the seeded registry and
//! credentials, and the simulated Okta and Entra connections for two bounded rounds each. The
//! server must end up with their users, deactivations and groups, the one refused payload in the
//! journal with its reason, and a compatibility report per connection.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use scimbox::db::{accounts, admins, compat, journal};
use scimbox::demo::{self, Event, Idp, Options};
use serde_json::Value;

use crate::helpers::TestApp;

const EXT: &str = "urn:ietf:params:scim:schemas:extension:scimbox:2.0:User";

/// Polls `f` on a read connection until it gives `Some`, for at most ten seconds (the journal
/// and the compatibility report are written in the background, about every second).
async fn eventually<T, F>(app: &TestApp, what: &str, f: F) -> T
where
    T: Send + 'static,
    F: Fn(&scimbox::db::sql::Connection) -> Result<Option<T>, scimbox::db::StoreError> + Send + Sync + Clone + 'static,
{
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(v) = app.db.read(f.clone()).await.expect("read") {
            return v;
        }
        assert!(Instant::now() < deadline, "not recorded within 10 s: {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn the_simulated_idps_fill_the_server() {
    let app = TestApp::spawn().await;
    let creds = demo::seed(&app.db).await.expect("seed");

    // The registry and the admin login the demo prints.
    let tree = app.db.read(accounts::list).await.expect("accounts");
    let tree: Vec<(String, usize)> = tree.into_iter().map(|e| (e.account.id, e.depth)).collect();
    for (id, depth) in [("ACME", 0), ("ACME-EU", 1), ("ACME-US", 1), ("GLOBEX", 0)] {
        assert!(tree.contains(&(id.to_owned(), depth)), "{id} at depth {depth}: {tree:?}");
    }
    let (name, hash) =
        app.db.read(|c| admins::credentials(c, demo::ADMIN)).await.expect("admins").expect("the demo's admin exists");
    assert_eq!(name, creds.admin);
    assert!(scimbox::service::admins::verify_password(&hash, &creds.password), "the printed password logs in");
    assert!(creds.password.chars().count() >= scimbox::service::admins::MIN_PASSWORD);

    // Only loopback: anything else is refused before a request is sent.
    let elsewhere = Options {
        base: "http://192.0.2.1/scim/v2".into(),
        okta_token: creds.okta_token.clone(),
        entra_token: creds.entra_token.clone(),
        speed: 1.0,
        rounds: Some(1),
    };
    let err = demo::simulate(elsewhere, Arc::new(|_: &Event| {})).await.expect_err("not loopback");
    assert!(err.contains("loopback"), "{err}");

    // Two rounds per IdP, fast.
    let events = Arc::new(Mutex::new(Vec::<Event>::new()));
    let seen = events.clone();
    let options = Options {
        base: app.base.clone(),
        okta_token: creds.okta_token.clone(),
        entra_token: creds.entra_token.clone(),
        speed: 40.0,
        rounds: Some(2),
    };
    let started = Instant::now();
    let report = demo::simulate(options, Arc::new(move |e: &Event| seen.lock().unwrap().push(e.clone())))
        .await
        .expect("the simulation runs");
    let events = events.lock().unwrap().clone();
    let elapsed = started.elapsed();
    let statuses: Vec<String> =
        events.iter().map(|e| format!("{} {} {} {}", e.status, e.method, e.path, e.what)).collect();

    assert_eq!(report.rounds, 4, "{report:?}");
    assert_eq!(report.requests as usize, events.len());
    assert!(report.requests >= 30, "{report:?}");
    assert_eq!(report.users_created, 8, "two new users per round and IdP: {statuses:#?}");
    assert_eq!(report.groups_created, 2, "{statuses:#?}");
    assert_eq!(report.count(400), 1, "exactly one refused request: {statuses:#?}");
    let failed: u64 = report.statuses.iter().filter(|(s, _)| **s >= 300).map(|(_, n)| n).sum();
    assert_eq!(failed, 1, "everything else succeeds: {statuses:#?}");
    assert!(elapsed < Duration::from_secs(20), "speed 40 took {elapsed:?}");

    // The refused one: Okta's create with the misspelt key, its detail naming it.
    let refused: Vec<&Event> = events.iter().filter(|e| e.status == 400).collect();
    assert_eq!((refused[0].idp, refused[0].method, refused[0].path.as_str()), (Idp::Okta, "POST", "/Users"));
    let detail = refused[0].detail.clone().unwrap_or_default();
    assert!(detail.contains("acountId") && detail.contains("line 1, column 2"), "{detail}");
    assert_eq!(app.filter("userName eq \"pat.typo@acme.example\"").await.body["totalResults"], 0);

    // Users: eight, one deactivated by each IdP (Okta's path-less PATCH, Entra's "False").
    let all = app.get("/Users?count=100").await;
    assert_eq!(all.status, StatusCode::OK, "{}", all.text);
    assert_eq!(all.body["totalResults"], 8, "{}", all.text);
    let inactive = app.filter("active eq false").await;
    let mut names: Vec<&str> =
        inactive.body["Resources"].as_array().expect("list").iter().filter_map(|u| u["userName"].as_str()).collect();
    names.sort_unstable();
    assert_eq!(names.len(), 2, "{}", inactive.text);
    assert!(names[0].ends_with("@acme.example") && names[1].ends_with("@globex.example"), "{names:?}");

    // The payloads arrived in both shapes and resolve to access over the tree.
    let users = all.body["Resources"].as_array().expect("users");
    let by_domain =
        |d: &'static str| users.iter().filter(move |u| u["userName"].as_str().is_some_and(|n| n.ends_with(d)));
    for u in by_domain("@acme.example").chain(by_domain("@globex.example")) {
        // Returned where they were sent: top-level from Okta, under the extension from Entra.
        let accounts = match (&u["accounts"], &u[EXT]["accounts"]) {
            (Value::Array(list), _) => list.len(),
            (_, Value::String(one)) => usize::from(!one.is_empty()),
            _ => 0,
        };
        assert!(accounts >= 1, "every simulated user has accounts: {u}");
    }
    let globex: Vec<&Value> = by_domain("@globex.example").collect();
    assert_eq!(globex.len(), 4);
    assert!(globex.iter().any(|u| u["title"].as_str().is_some_and(|t| t.starts_with("Senior "))), "Entra's Replace");
    assert!(by_domain("@acme.example").any(|u| u["nickName"].is_string()), "Okta's PUT");

    // Groups: one per IdP, each with that IdP's four users.
    let groups = app.get("/Groups").await;
    assert_eq!(groups.body["totalResults"], 2, "{}", groups.text);
    for g in groups.body["Resources"].as_array().expect("groups") {
        assert_eq!(g["members"].as_array().map_or(0, Vec::len), 4, "{g}");
    }

    // The journal has the refusal with its reason, under Okta's connection and client.
    let entry = eventually(&app, "the 400 in the journal", |c| {
        let failures = journal::recent(c, 200, 0, true)?;
        Ok(failures.into_iter().find(|e| e.status == 400))
    })
    .await;
    assert_eq!(entry.token_name.as_deref(), Some(demo::OKTA_TOKEN), "{entry:?}");
    assert_eq!(entry.client.as_deref(), Some(demo::OKTA_USER_AGENT), "{entry:?}");
    assert!(entry.detail.as_deref().is_some_and(|d| d.contains("acountId")), "{entry:?}");
    let body: Value = serde_json::from_str(entry.body.as_deref().unwrap_or("null")).expect("the body, as JSON");
    assert_eq!(body["password"], scimbox::journal::redact::MARK, "Okta's password is redacted: {body}");

    // Both connections' compatibility reports, with every request they sent tallied.
    let okta_sent = events.iter().filter(|e| e.idp == Idp::Okta).count() as i64;
    let entra_sent = events.iter().filter(|e| e.idp == Idp::Entra).count() as i64;
    let okta = eventually(&app, "Okta's tallies", move |c| {
        let t = compat::clients(c, demo::OKTA_TOKEN)?;
        Ok((t.iter().map(|t| t.count).sum::<i64>() == okta_sent).then_some(t))
    })
    .await;
    assert_eq!(okta.len(), 1, "{okta:?}");
    assert_eq!(okta[0].key, demo::OKTA_USER_AGENT);
    let entra = eventually(&app, "Entra's tallies", move |c| {
        let t = compat::clients(c, demo::ENTRA_TOKEN)?;
        let q = compat::quirks(c, demo::ENTRA_TOKEN)?;
        let done = t.iter().map(|t| t.count).sum::<i64>() == entra_sent
            && ["capitalised-op", "string-boolean"].iter().all(|k| q.iter().any(|x| x.key == *k));
        Ok(done.then_some((t, q)))
    })
    .await;
    assert_eq!(entra.0.len(), 1, "{entra:?}");
    assert_eq!(entra.0[0].key, "", "Entra sends no User-Agent: {entra:?}");
    assert!(entra.1.iter().any(|q| q.key == "no-user-agent"), "{entra:?}");
}

/// `scimbox demo` delivers webhooks as `serve` does: an endpoint added to its database with the
/// CLI receives the simulated IdPs' events (found in the issue 16 walk-through: the demo ran no
/// delivery, so its endpoints only fell behind).
#[tokio::test]
async fn the_demo_delivers_webhooks_added_to_its_database() {
    use std::io::BufRead;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind receiver");
    let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
    let (tx, mut got) = tokio::sync::mpsc::unbounded_channel::<String>();
    let receiver = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |body: String| {
            let tx = tx.clone();
            async move {
                let _ = tx.send(body);
                StatusCode::NO_CONTENT
            }
        }),
    );
    tokio::spawn(async move { axum::serve(listener, receiver).await.expect("receiver") });

    let mut child = std::process::Command::new(crate::helpers::bin())
        .args(["demo", "--listen", "127.0.0.1:0", "--quiet"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start the demo");
    let stdout = child.stdout.take().expect("stdout");
    let dir = std::thread::spawn(move || {
        std::io::BufReader::new(stdout).lines().map_while(Result::ok).find_map(|line| {
            let rest = line.strip_prefix("The database lives in ")?;
            Some(rest.split(" and is deleted").next()?.to_owned())
        })
    })
    .join()
    .expect("read the demo's output")
    .expect("the demo names its database");
    let db = format!("{dir}/scimbox.db");
    let added = crate::helpers::run_scimbox(&["webhook", "add", "--db", &db, "--name", "r", "--url", &url], "");
    let first = tokio::time::timeout(Duration::from_secs(20), got.recv()).await;
    // SIGTERM, so the demo deletes its temporary directory; then reap it.
    let _ = std::process::Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
    let _ = child.wait();
    assert!(added.status.success(), "{}", String::from_utf8_lossy(&added.stderr));
    let body = first.expect("an event within 20 s").expect("a body");
    let event: Value = serde_json::from_str(&body).expect("JSON");
    assert!(event["type"].as_str().is_some_and(|t| t.contains('.')), "{event}");
}
