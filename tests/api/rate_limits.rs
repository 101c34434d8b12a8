//! Rate limits (issue 15 item 2): per token (`--rate`, `--burst`), and per client address for
//! requests without a valid token; over a limit a request is answered 429 with a SCIM error and
//! `Retry-After` in whole seconds, while other tokens are served.

use std::time::Duration;

use reqwest::{Method, StatusCode};

use crate::auth_tokens::{Server, create_token, get_with_auth};
use crate::helpers::{Resp, TestApp};

/// Asserts a rate-limit refusal: 429, a SCIM error, `Retry-After` of at least one second.
#[track_caller]
fn assert_limited(r: &Resp, says: &str) -> u64 {
    let detail = r.assert_error(429, None);
    assert!(detail.contains(says), "{detail}");
    let retry: u64 = r.header("retry-after").and_then(|v| v.parse().ok()).expect("Retry-After in whole seconds");
    assert!(retry >= 1, "{retry}");
    retry
}

/// The "done when", through the real binary: a burst over the rate gets 429 with
/// Retry-After while another token is served.
#[tokio::test]
async fn a_burst_over_the_rate_is_refused_while_another_token_is_served() {
    let dir = tempfile::tempdir().expect("dir");
    let db = crate::helpers::fresh_db(dir.path()).await;
    let (noisy, quiet) = (create_token(&db, "noisy", None), create_token(&db, "quiet", None));
    let flags = ["--rate", "1", "--burst", "5"];
    let server = Server::start_with(&db, &dir.path().join("server.log"), &flags, &[]).await;
    let client = reqwest::Client::new();
    let url = format!("{}/Users", server.base);
    let auth = |t: &str| format!("Bearer {t}");
    let noisy_auth = auth(&noisy);
    let burst = futures::future::join_all((0..12).map(|_| get_with_auth(&client, &url, Some(&noisy_auth)))).await;
    let ok = burst.iter().filter(|r| r.status == StatusCode::OK).count();
    assert!((5..=6).contains(&ok), "the burst, and at most one refilled: {ok}");
    for r in burst.iter().filter(|r| r.status != StatusCode::OK) {
        assert_limited(r, "connection \"noisy\"");
    }
    // Meanwhile the other connection is served: its whole burst but the look-up below.
    for _ in 0..4 {
        let r = get_with_auth(&client, &url, Some(&auth(&quiet))).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    }
    // A write over the limit changes nothing.
    let body = crate::helpers::user("late");
    let r = client
        .request(Method::POST, &url)
        .header("Authorization", auth(&noisy))
        .header("Content-Type", "application/scim+json")
        .body(body.to_string())
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    let found = get_with_auth(&client, &format!("{url}?filter=userName%20eq%20%22late%22"), Some(&auth(&quiet))).await;
    assert_eq!(found.body["totalResults"], 0, "{}", found.text);
    // The bucket refills: after Retry-After the noisy connection is served again.
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    assert_eq!(get_with_auth(&client, &url, Some(&auth(&noisy))).await.status, StatusCode::OK);
}

/// Requests without a valid token count against their address: after the burst they are 429
/// instead of 401; discovery read without a token counts too; a valid token from the same
/// address is still served.
#[tokio::test]
async fn requests_without_a_valid_token_are_limited_per_address() {
    let app = TestApp::spawn_with(|mut c| {
        c.address_rate = 1;
        c.address_burst = 3;
        c
    })
    .await;
    let url = format!("{}/Users", app.base);
    let statuses: Vec<Resp> = {
        let mut v = Vec::new();
        for _ in 0..5 {
            v.push(get_with_auth(&app.client, &url, Some("Bearer scimbox_wrong")).await);
        }
        v
    };
    let codes: Vec<u16> = statuses.iter().map(|r| r.status.as_u16()).collect();
    assert_eq!(&codes[..3], [401, 401, 401], "{codes:?}");
    assert_limited(&statuses[4], "without a valid token");
    assert_eq!(app.get("/Users").await.status, StatusCode::OK, "a valid token is served");
    let spc_url = format!("{}/ServiceProviderConfig", app.base);
    assert_limited(&get_with_auth(&app.client, &spc_url, None).await, "without a valid token");
    // Discovery read with a live token counts against the token, not the address.
    let with_token = get_with_auth(&app.client, &spc_url, Some(&format!("Bearer {}", app.token))).await;
    assert_eq!(with_token.status, StatusCode::OK, "{}", with_token.text);
}

/// `--rate 0` and `--address-rate 0` turn the limits off.
#[tokio::test]
async fn zero_turns_the_limits_off() {
    let app = TestApp::spawn_with(|mut c| {
        c.rate = 0;
        c.burst = 1;
        c.address_rate = 0;
        c
    })
    .await;
    let answers = futures::future::join_all((0..40).map(|_| app.send(Method::GET, "/Users", None, &[]))).await;
    assert!(answers.iter().all(|r| r.status == StatusCode::OK));
    for _ in 0..20 {
        let r = get_with_auth(&app.client, &format!("{}/Users", app.base), None).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    }
}
