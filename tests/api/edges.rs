//! Issue 11's edges through the real server: `/check` bounded and rate-limited (problem 2),
//! login throttling per name and address with atomic reservation (4), the argon2 pool's bounded
//! queue (5), long login names (7), forwarded headers only from trusted proxies, the connection
//! cap (9), and request targets with raw spaces and quotes.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::{TestApp, bin};

const PASSWORD: &str = "correct horse battery";

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client")
}

fn add_admin(app: &TestApp, name: &str) {
    use std::io::Write;
    let mut child = std::process::Command::new(bin())
        .args(["admin", "add", name, "--db", app.db_path.to_str().expect("path")])
        .env_remove("SCIMBOX_DB")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("run scimbox");
    child.stdin.take().expect("stdin").write_all(format!("{PASSWORD}\n").as_bytes()).expect("stdin");
    assert!(child.wait().expect("wait").success());
}

/// A login POST as if from `client` (through a trusted proxy on 127.0.0.1).
async fn login_from(app: &TestApp, client: &str, name: &str, password: &str) -> reqwest::Response {
    no_redirects()
        .post(format!("{}/login", app.origin))
        .header("X-Forwarded-For", client)
        .form(&[("name", name), ("password", password), ("next", "/")])
        .send()
        .await
        .expect("login")
}

async fn trusting_localhost() -> TestApp {
    TestApp::spawn_with(|c| scimbox::Config { trusted_proxies: vec!["127.0.0.1/32".parse().expect("cidr")], ..c }).await
}

/// Problem 4: five wrong passwords for alice from one client leave the right password from
/// another client working (it was 429 for 15 minutes).
#[tokio::test]
async fn failures_from_one_client_do_not_lock_out_another() {
    let app = trusting_localhost().await;
    add_admin(&app, "alice");
    for _ in 0..5 {
        let r = login_from(&app, "198.51.100.7", "alice", "wrong guess").await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    }
    let slowed = login_from(&app, "198.51.100.7", "alice", PASSWORD).await;
    assert_eq!(slowed.status(), StatusCode::TOO_MANY_REQUESTS, "the guessing client waits");
    assert!(slowed.headers().contains_key("retry-after"));
    let real = login_from(&app, "203.0.113.9", "alice", PASSWORD).await;
    assert_eq!(real.status(), StatusCode::SEE_OTHER, "the real admin elsewhere logs in");
}

/// Problem 4: 40 concurrent wrong guesses get at most 5 password checks (it was 20).
#[tokio::test]
async fn concurrent_guesses_get_at_most_five_checks() {
    let app = trusting_localhost().await;
    add_admin(&app, "alice");
    let guesses = (0..40).map(|i| {
        let app = &app;
        async move { login_from(app, "198.51.100.7", "alice", &format!("guess {i}")).await.status() }
    });
    let statuses = futures::future::join_all(guesses).await;
    let checked = statuses.iter().filter(|s| **s == StatusCode::UNAUTHORIZED).count();
    let refused = statuses.iter().filter(|s| **s == StatusCode::TOO_MANY_REQUESTS).count();
    assert_eq!(checked + refused, 40, "{statuses:?}");
    assert!(checked <= 5, "{checked} password checks");
    let recorded: i64 = app
        .db
        .read(|c| Ok(c.query_row("SELECT count(*) FROM login_attempts WHERE ok = 0", [], |r| r.get(0))?))
        .await
        .expect("count");
    assert_eq!(recorded as usize, checked);
}

/// Problem 5: a login flood is answered 429 with Retry-After once the password pool's queue is
/// full, instead of queueing every request on the threads the SCIM reads use; SCIM still answers.
#[tokio::test]
async fn a_login_flood_is_shed_and_scim_still_answers() {
    let app = trusting_localhost().await;
    add_admin(&app, "alice");
    let flood = (0..120).map(|i| {
        let app = &app;
        async move {
            let r = login_from(app, &format!("198.51.{}.{}", i / 200, i % 200 + 1), "alice", "wrong").await;
            (r.status(), r.headers().contains_key("retry-after"))
        }
    });
    let scim = async {
        tokio::time::sleep(Duration::from_millis(200)).await;
        app.get("/Users?count=1").await.status
    };
    let (results, scim) = tokio::join!(futures::future::join_all(flood), scim);
    assert_eq!(scim, StatusCode::OK);
    let shed = results.iter().filter(|(s, retry)| *s == StatusCode::TOO_MANY_REQUESTS && *retry).count();
    assert!(shed > 0, "some logins are shed: {results:?}");
}

/// Problem 7: a long login name is refused before any check, and not echoed in full.
#[tokio::test]
async fn long_login_names_are_refused_and_not_echoed() {
    let app = TestApp::spawn().await;
    let name = "n".repeat(100_000);
    let r = login_from(&app, "x", &name, "whatever").await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let page = r.text().await.expect("page");
    assert!(page.contains("longer than 256 bytes"), "{}", &page[..page.len().min(2000)]);
    assert!(page.len() < 20_000, "the name is not sent back: {} bytes", page.len());
    let stored: i64 = app
        .db
        .read(|c| Ok(c.query_row("SELECT count(*) FROM login_attempts", [], |r| r.get(0))?))
        .await
        .expect("count");
    assert_eq!(stored, 0);
}

/// Problem 2: `/check` takes at most 256 KiB (413 above it, said on the page), and an
/// anonymous client is rate-limited (429 with Retry-After).
#[tokio::test]
async fn check_is_capped_and_rate_limited() {
    let app = TestApp::spawn().await;
    let client = reqwest::Client::new();
    let page = client.get(format!("{}/check", app.origin)).send().await.expect("page").text().await.expect("text");
    assert!(page.contains("at most 256 KiB"), "the page says the limit");
    let big = format!("[{}]", "{\"acountId\":\"A\"},\n".repeat(20_000));
    assert!(big.len() > 256 * 1024);
    let r = client.post(format!("{}/check", app.origin)).form(&[("text", &big)]).send().await.expect("post");
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert!(r.text().await.expect("text").contains("256 KiB"));
    let mut statuses = Vec::new();
    for _ in 0..12 {
        let r = client.post(format!("{}/check", app.origin)).form(&[("text", "{\"accountId\":\"A\"}")]).send().await;
        let r = r.expect("post");
        statuses.push((r.status(), r.headers().get("retry-after").is_some()));
    }
    assert!(statuses.contains(&(StatusCode::TOO_MANY_REQUESTS, true)), "{statuses:?}");
}

/// Problem 2: the largest accepted form, full of faults and line breaks, gets its verdict, and
/// `/healthz` answers while two of them are being checked.
#[tokio::test]
async fn healthz_answers_while_check_is_busy() {
    let app = TestApp::spawn().await;
    let mut text = String::from("[");
    while text.len() < 200 * 1024 {
        text.push_str("{\"acountId\":\"A\"},\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n");
    }
    text.push_str("{\"accountId\":\"B\"}]");
    let post = |ip: &'static str| {
        let (url, text) = (format!("{}/check", app.origin), text.clone());
        async move {
            let r = reqwest::Client::new().post(url).header("X-Forwarded-For", ip).form(&[("text", text)]).send().await;
            r.expect("post").status()
        }
    };
    let health = async {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let start = std::time::Instant::now();
        let r = reqwest::get(format!("{}/healthz", app.origin)).await.expect("healthz");
        (r.status(), start.elapsed())
    };
    let (a, b, (h, took)) = tokio::join!(post("a"), post("b"), health);
    assert_eq!(h, StatusCode::OK);
    assert!(took < Duration::from_secs(2), "healthz took {took:?}");
    assert!(a == StatusCode::OK || b == StatusCode::OK, "{a} {b}");
}

/// Problem 9: `X-Forwarded-Host` is believed only from a trusted proxy; `--public-url` fixes
/// `Location` whatever the headers say.
#[tokio::test]
async fn forwarded_host_only_from_trusted_proxies() {
    async fn location(app: &TestApp, user: &str) -> String {
        let body = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": user});
        let headers = [("X-Forwarded-Host", "evil.example"), ("X-Forwarded-Proto", "https")];
        let r = app.send(reqwest::Method::POST, "/Users", Some(&body), &headers).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        r.header("location").unwrap_or_default().to_owned()
    }
    let app = TestApp::spawn().await;
    let loc = location(&app, "a").await;
    assert!(loc.starts_with(&format!("{}/scim/v2/Users/", app.origin)), "{loc}");
    let app = trusting_localhost().await;
    let loc = location(&app, "b").await;
    assert!(loc.starts_with("https://evil.example/scim/v2/Users/"), "a trusted proxy is believed: {loc}");
    let app = TestApp::spawn_with(|c| c.with_public_url("https://scim.example.com").expect("url")).await;
    let loc = location(&app, "c").await;
    assert!(loc.starts_with("https://scim.example.com/scim/v2/Users/"), "{loc}");
}

/// Sends a raw request and reads the whole response (the server closes: `Connection: close`).
async fn raw(app: &TestApp, request: &str) -> String {
    let addr = app.origin.trim_start_matches("http://");
    let mut s = TcpStream::connect(addr).await.expect("connect");
    s.write_all(request.as_bytes()).await.expect("write");
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(30), s.read_to_end(&mut out)).await;
    String::from_utf8_lossy(&out).into_owned()
}

/// Request targets as people type them: raw spaces, quotes and `+` get the same answer as the
/// encoded filter (they got an empty 400 from the HTTP parser).
#[tokio::test]
async fn raw_quotes_and_spaces_in_the_target() {
    let app = TestApp::spawn().await;
    let body = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "bob"});
    assert_eq!(app.post("/Users", &body).await.status, StatusCode::CREATED);
    let request = |target: &str| {
        format!(
            "GET /scim/v2/Users?{target} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\nConnection: close\r\n\r\n",
            app.token
        )
    };
    let body_of = |resp: &str| {
        assert!(resp.starts_with("HTTP/1.1 200"), "{resp}");
        let json = resp.split("\r\n\r\n").nth(1).unwrap_or_default();
        let v: serde_json::Value = serde_json::from_str(json).unwrap_or_default();
        (v["totalResults"].clone(), v["Resources"][0]["userName"].clone())
    };
    let encoded = body_of(&raw(&app, &request("filter=userName%20eq%20%22bob%22")).await);
    assert_eq!(encoded, (json!(1), json!("bob")));
    for typed in ["filter=userName eq \"bob\"", "filter=userName+eq+\"bob\"", "filter=userName eq \"bob\"&count=5"] {
        assert_eq!(body_of(&raw(&app, &request(typed)).await), encoded, "{typed}");
    }
    // Keep-alive: a POST with a body, then a raw-quote GET on the same connection.
    let user = r#"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"GET / HTTP/1.1"}"#;
    let two = format!(
        "POST /scim/v2/Users HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {t}\r\nContent-Type: application/scim+json\r\nContent-Length: {}\r\n\r\n{user}GET /scim/v2/Users?filter=userName eq \"bob\" HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {t}\r\nConnection: close\r\n\r\n",
        user.len(),
        t = app.token
    );
    let resp = raw(&app, &two).await;
    assert!(resp.starts_with("HTTP/1.1 201"), "{resp}");
    assert_eq!(resp.matches("HTTP/1.1 200").count(), 1, "{resp}");
    assert!(resp.contains("\"totalResults\":1"), "{resp}");
}

/// Problem 9: beyond `max_connections` open connections the server stops accepting (new ones
/// wait in the backlog, they are not dropped), and while it is at the cap connections that
/// have sent nothing are closed after a short grace (well before the header timeout), so
/// `/healthz` on a new connection is answered.
#[tokio::test]
async fn the_connection_cap_holds_and_idle_connections_time_out() {
    let app =
        TestApp::spawn_with(|c| scimbox::Config { max_connections: 4, header_timeout: Duration::from_secs(600), ..c })
            .await;
    let addr = app.origin.trim_start_matches("http://").to_owned();
    let mut idle = Vec::new();
    for _ in 0..10 {
        idle.push(TcpStream::connect(&addr).await.expect("connect"));
    }
    let mut probe = TcpStream::connect(&addr).await.expect("connect");
    probe.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").await.expect("write");
    let mut out = Vec::new();
    let early = tokio::time::timeout(Duration::from_millis(300), probe.read_to_end(&mut out)).await;
    assert!(early.is_err() && out.is_empty(), "not served while at the cap: {:?}", String::from_utf8_lossy(&out));
    let late = tokio::time::timeout(Duration::from_secs(60), probe.read_to_end(&mut out)).await;
    assert!(late.is_ok(), "served once idle connections time out");
    assert!(String::from_utf8_lossy(&out).starts_with("HTTP/1.1 200"), "{}", String::from_utf8_lossy(&out));
    drop(idle);
}
