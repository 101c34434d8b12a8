//! Resource limits and malformed requests: body size, filter size and depth, media type, empty
//! bodies, and slow clients (header and body timeouts). None of them may produce a 5xx or a hang.

use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::{TestApp, user};

/// RFC 9110 §15.5.14: a body above the configured limit is 413, as a SCIM error (RFC 7644
/// §3.12); one below it is fine.
#[tokio::test]
async fn body_over_the_limit_is_413() {
    let app = TestApp::spawn_with(|mut c| {
        c.max_body_bytes = 1024;
        c
    })
    .await;
    let mut big = user("big");
    big["displayName"] = "x".repeat(2000).into();
    let r = app.post("/Users", &big).await;
    let detail = r.assert_error(413, None);
    assert!(detail.contains("1024"), "{detail}");
    // PUT and PATCH and .search are bounded too.
    let small = app.create_user(&user("small")).await;
    let id = small["id"].as_str().unwrap();
    app.put(&format!("/Users/{id}"), &big).await.assert_error(413, None);
    let patch = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "path": "displayName", "value": "y".repeat(2000)}]});
    app.patch(&format!("/Users/{id}"), &patch).await.assert_error(413, None);
    let search = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
        "filter": format!("userName eq \"{}\"", "z".repeat(2000))});
    app.post("/Users/.search", &search).await.assert_error(413, None);
    // A chunked body (no Content-Length) over the limit, over a raw connection.
    let addr = app.origin.trim_start_matches("http://").to_owned();
    let mut s = TcpStream::connect(&addr).await.expect("connect");
    let mut raw = format!(
        "POST /scim/v2/Users HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/scim+json\r\nTransfer-Encoding: chunked\r\n\r\n",
        app.token
    );
    for _ in 0..8 {
        let chunk = "a".repeat(300);
        raw.push_str(&format!("{:x}\r\n{chunk}\r\n", chunk.len()));
    }
    raw.push_str("0\r\n\r\n");
    let _ = s.write_all(raw.as_bytes()).await;
    let (got, _) = read_until_closed(&mut s, Duration::from_secs(3)).await;
    assert_eq!(status_of(&got), Some(413), "{}", String::from_utf8_lossy(&got));
    // Under the limit still works, and the rejected user was not created.
    let mut ok = user("fits");
    ok["displayName"] = "x".repeat(500).into();
    assert_eq!(app.post("/Users", &ok).await.status, StatusCode::CREATED);
    assert_eq!(app.filter(r#"userName eq "big""#).await.body["totalResults"], 0);
}

/// validator filter.rs: at most 4096 characters (invalidFilter, RFC 7644 §3.4.2.2); exactly 4096
/// is accepted.
#[tokio::test]
async fn overlong_filter_is_invalid_filter() {
    let app = TestApp::spawn().await;
    let quoted = r#"userName eq """#; // 14 characters around the value
    let at_limit = format!(r#"userName eq "{}""#, "a".repeat(4096 - quoted.len()));
    assert_eq!(at_limit.len(), 4096);
    let r = app.filter(&at_limit).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["totalResults"], 0);
    let over = format!(r#"userName eq "{}""#, "a".repeat(5000));
    let detail = app.filter(&over).await.assert_error(400, Some("invalidFilter"));
    assert!(detail.contains("4096"), "{detail}");
    // Through .search too.
    let body = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], "filter": over});
    app.post("/.search", &body).await.assert_error(400, Some("invalidFilter"));
}

/// validator filter.rs: at most 32 levels of nesting; 40 parentheses are refused (400
/// invalidFilter), not a stack overflow.
#[tokio::test]
async fn deeply_nested_filter_is_invalid_filter() {
    let app = TestApp::spawn().await;
    app.create_user(&user("nest")).await;
    let nested = |n: usize| format!("{}userName eq \"nest\"{}", "(".repeat(n), ")".repeat(n));
    let r = app.filter(&nested(10)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["totalResults"], 1);
    let detail = app.filter(&nested(40)).await.assert_error(400, Some("invalidFilter"));
    assert!(detail.contains("32"), "{detail}");
    app.filter(&format!("{}title pr", "not ".repeat(40))).await.assert_error(400, Some("invalidFilter"));
    // Unbalanced and huge: still a clean 400.
    app.filter(&"(".repeat(4000)).await.assert_error(400, Some("invalidFilter"));
}

/// RFC 7644 §3.1 / §8.1 (application/scim+json, application/json accepted) and RFC 9110
/// §15.5.16: another media type is 415 as a SCIM error.
#[tokio::test]
async fn wrong_content_type_is_415() {
    let app = TestApp::spawn().await;
    let body = user("typed").to_string();
    let send = |method: Method, path: String, ct: &'static str, body: String| {
        let req = app.client.request(method, format!("{}{path}", app.base)).bearer_auth(&app.token);
        async move {
            let resp = req.header("Content-Type", ct).body(body).send().await.expect("request");
            let status = resp.status();
            let headers = resp.headers().clone();
            let text = resp.text().await.unwrap();
            crate::helpers::Resp { status, headers, body: serde_json::from_str(&text).unwrap_or_default(), text }
        }
    };
    for ct in ["text/plain", "application/xml", "application/x-www-form-urlencoded"] {
        let r = send(Method::POST, "/Users".into(), ct, body.clone()).await;
        let detail = r.assert_error(415, None);
        assert!(detail.contains(ct), "{detail}");
    }
    let created = app.create_user(&user("target")).await;
    let id = created["id"].as_str().unwrap();
    let patch = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "path": "displayName", "value": "T"}]})
    .to_string();
    send(Method::PATCH, format!("/Users/{id}"), "text/plain", patch.clone()).await.assert_error(415, None);
    // The accepted types, with parameters and in any case (idp-behaviour §4.4).
    for ct in ["application/json", "application/scim+json; charset=utf-8", "Application/JSON;charset=UTF-8"] {
        let r = send(Method::PATCH, format!("/Users/{id}"), ct, patch.clone()).await;
        assert_eq!(r.status, StatusCode::OK, "{ct}: {}", r.text);
    }
    assert_eq!(app.filter(r#"userName eq "typed""#).await.body["totalResults"], 0);
}

/// RFC 7644 §3.12: a body that is not JSON (here: none at all) is 400 invalidSyntax.
#[tokio::test]
async fn empty_or_broken_body_is_invalid_syntax() {
    let app = TestApp::spawn().await;
    let r = app.send(Method::POST, "/Users", None, &[("Content-Type", "application/scim+json")]).await;
    let detail = r.assert_error(400, Some("invalidSyntax"));
    assert!(detail.contains("empty"), "{detail}");
    let r = app.send(Method::POST, "/Users", None, &[]).await;
    r.assert_error(400, Some("invalidSyntax"));
    for raw in ["   \n", "{", "{\"userName\": }", "not json", "\u{feff}"] {
        let resp = app
            .client
            .post(format!("{}/Users", app.base))
            .bearer_auth(&app.token)
            .header("Content-Type", "application/scim+json")
            .body(raw)
            .send()
            .await
            .unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        let text = resp.text().await.unwrap();
        let r = crate::helpers::Resp { status, headers, body: serde_json::from_str(&text).unwrap_or_default(), text };
        r.assert_error(400, Some("invalidSyntax"));
    }
    let r = app.send(Method::POST, "/Users/.search", None, &[]).await;
    r.assert_error(400, Some("invalidSyntax"));
}

/// Reads from `s` until EOF, an error, or `limit`; returns what was read and whether the server
/// closed (EOF or reset) before the limit.
async fn read_until_closed(s: &mut TcpStream, limit: Duration) -> (Vec<u8>, bool) {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        match tokio::time::timeout_at(deadline, s.read(&mut buf)).await {
            Err(_) => return (got, false),
            Ok(Ok(0)) | Ok(Err(_)) => return (got, true),
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
        }
    }
}

/// The status code of a raw HTTP/1.1 response, if there is one.
fn status_of(raw: &[u8]) -> Option<u16> {
    let text = String::from_utf8_lossy(raw);
    text.strip_prefix("HTTP/1.1 ")?.get(..3)?.parse().ok()
}

/// A client that sends half its headers and stalls is disconnected after header_timeout
/// (slowloris), and the server keeps serving others meanwhile and afterwards.
#[tokio::test]
async fn stalled_headers_are_cut_off() {
    let app = TestApp::spawn_with(|mut c| {
        c.header_timeout = Duration::from_millis(300);
        c
    })
    .await;
    let addr = app.origin.trim_start_matches("http://").to_owned();
    let mut slow = TcpStream::connect(&addr).await.expect("connect");
    let start = Instant::now();
    slow.write_all(b"GET /scim/v2/Users HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: application/scim+json\r\n")
        .await
        .unwrap();
    // Meanwhile, others are served. (A client without a connection pool: a pooled keep-alive
    // connection would itself be closed by the 300 ms timeout and could race a later reuse.)
    let fresh = reqwest::Client::builder().pool_max_idle_per_host(0).build().unwrap();
    let users = format!("{}/Users", app.base);
    let r = fresh.get(&users).bearer_auth(&app.token).send().await.expect("served meanwhile");
    assert_eq!(r.status(), StatusCode::OK);
    let (got, closed) = read_until_closed(&mut slow, Duration::from_secs(3)).await;
    let took = start.elapsed();
    assert!(closed, "the server kept a stalled connection open for 3 s");
    assert!(took >= Duration::from_millis(250), "closed after {took:?}, before the 300 ms header timeout");
    if let Some(status) = status_of(&got) {
        assert!(status < 500, "a stalled client got {status}: {}", String::from_utf8_lossy(&got));
    }
    // Still serving.
    let r = fresh.get(&users).bearer_auth(&app.token).send().await.expect("served afterwards");
    assert_eq!(r.status(), StatusCode::OK);
    let h = fresh.get(format!("{}/healthz", app.origin)).send().await.unwrap();
    assert_eq!(h.status(), StatusCode::OK);
}

/// A client that sends its headers and then stalls in the body gets a 408 SCIM error after
/// request_timeout (RFC 9110 §15.5.9), never a hang or a 5xx.
#[tokio::test]
async fn stalled_body_gets_408() {
    let app = TestApp::spawn_with(|mut c| {
        c.request_timeout = Duration::from_millis(300);
        c
    })
    .await;
    let addr = app.origin.trim_start_matches("http://").to_owned();
    let mut slow = TcpStream::connect(&addr).await.expect("connect");
    let start = Instant::now();
    let head = format!(
        "POST /scim/v2/Users HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/scim+json\r\nContent-Length: 100\r\n\r\n{{\"schemas\":",
        app.token
    );
    slow.write_all(head.as_bytes()).await.unwrap();
    let (got, _) = read_until_closed(&mut slow, Duration::from_secs(3)).await;
    let took = start.elapsed();
    let text = String::from_utf8_lossy(&got).into_owned();
    assert_eq!(status_of(&got), Some(408), "after {took:?}: {text:?}");
    assert!(took >= Duration::from_millis(250), "408 after {took:?}, before the 300 ms timeout");
    assert!(took < Duration::from_secs(3));
    let lower = text.to_ascii_lowercase();
    assert!(lower.contains("content-type: application/scim+json"), "{text}");
    let body = text.split("\r\n\r\n").nth(1).unwrap_or_default();
    let json: serde_json::Value = serde_json::from_str(body.trim()).unwrap_or_else(|_| panic!("SCIM body: {text}"));
    assert_eq!(json["schemas"][0], "urn:ietf:params:scim:api:messages:2.0:Error");
    assert_eq!(json["status"], "408");
    // Nothing was created and others are still served.
    let r = app.get("/Users").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["totalResults"], 0);
}

/// Malformed request lines and headers get a 4xx from the HTTP layer, not a 5xx, and leave the
/// server healthy.
#[tokio::test]
async fn garbage_requests_are_4xx() {
    let app = TestApp::spawn().await;
    let addr = app.origin.trim_start_matches("http://").to_owned();
    for raw in [
        "NOT HTTP AT ALL\r\n\r\n".to_owned(),
        "GET /scim/v2/Users HTTP/1.1\r\nHost: x\r\nBad Header Without Colon\r\n\r\n".to_owned(),
        format!("GET /scim/v2/Users?{} HTTP/1.1\r\nHost: x\r\n\r\n", "a".repeat(100_000)),
        "POST /scim/v2/Users HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n".to_owned(),
    ] {
        let mut s = TcpStream::connect(&addr).await.expect("connect");
        let _ = s.write_all(raw.as_bytes()).await;
        let (got, closed) = read_until_closed(&mut s, Duration::from_secs(3)).await;
        assert!(closed || !got.is_empty(), "no answer to {:?}", &raw[..raw.len().min(60)]);
        if let Some(status) = status_of(&got) {
            assert!((400..500).contains(&status), "{status} for {:?}", &raw[..raw.len().min(60)]);
        }
    }
    let r = app.get("/Users").await;
    assert_eq!(r.status, StatusCode::OK);
}

/// header_timeout also bounds idle connections: one that never sends a byte, and a kept-alive
/// one after its response, are closed once it passes (hyper http1 header_read_timeout).
#[tokio::test]
async fn idle_connections_are_closed() {
    let app = TestApp::spawn_with(|mut c| {
        c.header_timeout = Duration::from_millis(300);
        c
    })
    .await;
    let addr = app.origin.trim_start_matches("http://").to_owned();
    let mut silent = TcpStream::connect(&addr).await.expect("connect");
    let start = Instant::now();
    let (got, closed) = read_until_closed(&mut silent, Duration::from_secs(3)).await;
    assert!(closed, "a silent connection stayed open for 3 s");
    assert!(start.elapsed() >= Duration::from_millis(250), "closed after {:?}", start.elapsed());
    if let Some(status) = status_of(&got) {
        assert!(status < 500, "{}", String::from_utf8_lossy(&got));
    }
    let mut kept = TcpStream::connect(&addr).await.expect("connect");
    kept.write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").await.unwrap();
    let (got, closed) = read_until_closed(&mut kept, Duration::from_secs(3)).await;
    assert_eq!(status_of(&got), Some(200), "{}", String::from_utf8_lossy(&got));
    assert!(closed, "an idle kept-alive connection stayed open for 3 s");
    let r = app.get("/Users").await;
    assert_eq!(r.status, StatusCode::OK);
}
