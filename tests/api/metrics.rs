//! Prometheus metrics through the real binary (issue 15 item 5): `serve --metrics-listen`
//! serves `/metrics` on its own address, in a form a Prometheus text parser reads (the
//! `prometheus-parse` crate), and the counters move with the requests made; the SCIM port does
//! not serve it.

use std::collections::HashMap;

use prometheus_parse::{Sample, Scrape, Value as Figure};
use reqwest::StatusCode;
use serde_json::json;

use crate::auth_tokens::create_token;
use crate::backup::Serving;
use crate::helpers::user;

/// One scrape, parsed; every sample line must become a sample.
async fn scrape(addr: &str) -> Vec<Sample> {
    let r = reqwest::get(format!("http://{addr}/metrics")).await.expect("scrape");
    assert_eq!(r.status(), StatusCode::OK);
    let ctype = r.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    assert!(ctype.starts_with("application/openmetrics-text"), "{ctype}");
    let text = r.text().await.expect("body");
    assert!(text.ends_with("# EOF\n"), "{text}");
    let parsed = Scrape::parse(text.lines().map(|l| Ok(l.to_owned()))).expect("a Prometheus text parser reads it");
    let lines = text.lines().filter(|l| !l.starts_with('#') && !l.trim().is_empty()).count();
    let buckets = text.lines().filter(|l| l.contains("_bucket{")).count();
    let histograms = parsed.samples.iter().filter(|s| matches!(s.value, Figure::Histogram(_))).count();
    assert_eq!(parsed.samples.len() + buckets - histograms, lines, "every line parsed:\n{text}");
    parsed.samples
}

fn value(s: &Sample) -> f64 {
    match &s.value {
        Figure::Counter(v) | Figure::Gauge(v) | Figure::Untyped(v) => *v,
        Figure::Histogram(h) => h.last().map_or(0.0, |b| b.count),
        Figure::Summary(_) => f64::NAN,
    }
}

/// The value of `metric` with exactly these labels (0 when absent).
fn get(samples: &[Sample], metric: &str, labels: &[(&str, &str)]) -> f64 {
    let want: HashMap<String, String> = labels.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    samples
        .iter()
        .filter(|s| s.metric == metric)
        .find(|s| s.labels.iter().map(|(k, v)| (k.clone(), v.clone())).collect::<HashMap<_, _>>() == want)
        .map_or(0.0, value)
}

#[tokio::test]
async fn metrics_parse_and_count_requests_on_their_own_port() {
    let dir = tempfile::tempdir().unwrap();
    let db = crate::helpers::fresh_db(dir.path()).await;
    let token = create_token(&db, "okta-metrics", None);
    let server = Serving::start(&db, &dir.path().join("server.log"), &[], true).await;
    let addr = server.metrics.clone().expect("metrics address");
    let client = reqwest::Client::new();
    let req = |m: reqwest::Method, path: &str| {
        client
            .request(m, format!("{}{path}", server.base))
            .bearer_auth(&token)
            .header("Content-Type", "application/scim+json")
    };

    let before = scrape(&addr).await;
    let created = |n: &[Sample]| {
        get(
            n,
            "scimbox_requests_total",
            &[("token", "okta-metrics"), ("method", "POST"), ("resource_type", "User"), ("status", "201")],
        )
    };
    assert_eq!(created(&before), 0.0);
    let mut ids = Vec::new();
    for i in 0..3 {
        let r = req(reqwest::Method::POST, "/Users").body(user(&format!("m{i}")).to_string()).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::CREATED);
        ids.push(r.json::<serde_json::Value>().await.unwrap()["id"].as_str().unwrap().to_owned());
    }
    let off = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "path": "active", "value": false}]});
    let r = req(reqwest::Method::PATCH, &format!("/Users/{}", ids[0])).body(off.to_string()).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let group = json!({"displayName": "staff", "members": [{"value": ids[1]}]});
    assert_eq!(req(reqwest::Method::POST, "/Groups").body(group.to_string()).send().await.unwrap().status(), 201);
    assert_eq!(req(reqwest::Method::GET, "/Users/nope").send().await.unwrap().status(), 404);
    let anonymous = client.get(format!("{}/Users", server.base)).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);
    let on_scim_port = client.get(server.base.replace("/scim/v2", "/metrics")).send().await.unwrap();
    assert_eq!(on_scim_port.status(), 404, "the SCIM port does not serve /metrics");

    let after = scrape(&addr).await;
    assert_eq!(created(&after), 3.0);
    let labels = |m, t, s| [("token", "okta-metrics"), ("method", m), ("resource_type", t), ("status", s)];
    assert_eq!(get(&after, "scimbox_requests_total", &labels("PATCH", "User", "200")), 1.0);
    assert_eq!(get(&after, "scimbox_requests_total", &labels("POST", "Group", "201")), 1.0);
    assert_eq!(get(&after, "scimbox_requests_total", &labels("GET", "User", "404")), 1.0);
    let anon = [("token", "none"), ("method", "GET"), ("resource_type", "User"), ("status", "401")];
    assert_eq!(get(&after, "scimbox_requests_total", &anon), 1.0);
    let stray = [("token", "none"), ("method", "GET"), ("resource_type", "other"), ("status", "404")];
    assert_eq!(get(&after, "scimbox_requests_total", &stray), 1.0, "unknown paths are one label");
    let latency = [("resource_type", "User"), ("method", "POST")];
    assert_eq!(get(&after, "scimbox_request_duration_seconds", &latency), 3.0, "the histogram counts them too");
    assert_eq!(get(&after, "scimbox_users", &[("state", "active")]), 2.0);
    assert_eq!(get(&after, "scimbox_users", &[("state", "inactive")]), 1.0);
    assert_eq!(get(&after, "scimbox_groups", &[]), 1.0);
    // Three user.created, one user.deactivated, one group.created, one group.member_added.
    assert_eq!(get(&after, "scimbox_event_seq", &[]), 6.0, "the feed's newest event");
    assert!(get(&after, "scimbox_database_bytes", &[("file", "db")]) > 0.0);
    assert_eq!(get(&after, "scimbox_journal_shed_total", &[]), 0.0);
    assert!(after.iter().any(|s| s.metric == "scimbox_journal_queue"));
    for held in ["scimbox_rate_limited_total", "scimbox_guard_held_total"] {
        let zero = after.iter().find(|s| s.metric == held && s.labels.get("token") == Some("okta-metrics"));
        assert_eq!(zero.map(value), Some(0.0), "{held} exists for each live token, at zero");
    }

    // The next requests move the counters on.
    let r = req(reqwest::Method::DELETE, &format!("/Users/{}", ids[2])).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let last = scrape(&addr).await;
    assert_eq!(get(&last, "scimbox_requests_total", &labels("DELETE", "User", "204")), 1.0);
    assert_eq!(get(&last, "scimbox_users", &[("state", "active")]), 1.0);
}

/// The rate limiter's refusals and the deprovisioning guard's holds reach `/metrics` per token
/// (issue 15 items 1, 2 and 5 joined): a burst over `--rate` and a deactivation beyond
/// `--guard-max` each move their counter, for their token only.
#[tokio::test]
async fn rate_limit_refusals_and_guard_holds_are_counted_by_token() {
    let dir = tempfile::tempdir().unwrap();
    let db = crate::helpers::fresh_db(dir.path()).await;
    let noisy = create_token(&db, "noisy", None);
    let calm = create_token(&db, "calm", None);
    let flags = ["--rate", "1", "--burst", "3", "--guard-max", "1", "--guard-window", "1s"];
    let server = Serving::start(&db, &dir.path().join("server.log"), &flags, true).await;
    let addr = server.metrics.clone().expect("metrics address");
    let client = reqwest::Client::new();
    let send = |token: &str, m: reqwest::Method, path: &str, body: Option<serde_json::Value>| {
        let mut r = client
            .request(m, format!("{}{path}", server.base))
            .bearer_auth(token)
            .header("Content-Type", "application/scim+json");
        if let Some(b) = body {
            r = r.body(b.to_string());
        }
        r.send()
    };

    let mut refused = 0;
    for _ in 0..8 {
        if send(&noisy, reqwest::Method::GET, "/Users", None).await.unwrap().status() == StatusCode::TOO_MANY_REQUESTS {
            refused += 1;
        }
    }
    assert!(refused >= 4, "a burst of 8 over --burst 3 at 1/s is refused in part: {refused}");

    // The guard counts users that existed before its window: made by the calm token, which
    // then deletes two of them, the second being held.
    let mut ids = Vec::new();
    for i in 0..2 {
        let r = send(&calm, reqwest::Method::POST, "/Users", Some(user(&format!("g{i}")))).await.unwrap();
        assert_eq!(r.status(), StatusCode::CREATED);
        ids.push(r.json::<serde_json::Value>().await.unwrap()["id"].as_str().unwrap().to_owned());
    }
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let first = send(&calm, reqwest::Method::DELETE, &format!("/Users/{}", ids[0]), None).await.unwrap();
    assert_eq!(first.status(), StatusCode::NO_CONTENT);
    let second = send(&calm, reqwest::Method::DELETE, &format!("/Users/{}", ids[1]), None).await.unwrap();
    assert_eq!(second.status(), StatusCode::TOO_MANY_REQUESTS, "held by the guard");

    let samples = scrape(&addr).await;
    let by = |metric: &str, token: &str| get(&samples, metric, &[("token", token)]);
    assert_eq!(by("scimbox_rate_limited_total", "noisy"), f64::from(refused));
    assert_eq!(by("scimbox_rate_limited_total", "calm"), 0.0);
    assert_eq!(by("scimbox_guard_held_total", "calm"), 1.0);
    assert_eq!(by("scimbox_guard_held_total", "noisy"), 0.0);
}
