//! The status page and the payload checker (issue 6 items 3 and 4), through HTTP as a browser
//! without JavaScript sees them: logging in, every page's content, the token shown once,
//! revoking, CSRF, redirects to the login page, the checker's server-side verdict, and escaping.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use reqwest::header::{HeaderMap, LOCATION, SET_COOKIE};
use scimbox::db::{accounts, admins};
use scimbox::quirks::Quirk;
use scimbox::service::admins as admin;
use serde_json::json;

use crate::helpers::{TestApp, form_encode, user};

const PASSWORD: &str = "correct horse battery";
const XSS: &str = "<script>alert(1)</script>";

/// A browser without JavaScript: no redirects followed, one session cookie.
struct Browser {
    origin: String,
    client: reqwest::Client,
    cookie: Option<String>,
}

/// A page as fetched.
struct Got {
    status: StatusCode,
    headers: HeaderMap,
    html: String,
}

impl Got {
    fn location(&self) -> &str {
        self.headers.get(LOCATION).and_then(|v| v.to_str().ok()).unwrap_or("")
    }

    #[track_caller]
    fn assert_ok(&self) -> &str {
        assert_eq!(self.status, StatusCode::OK, "{}", self.html);
        &self.html
    }
}

impl Browser {
    fn new(app: &TestApp) -> Self {
        let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client");
        Browser { origin: app.origin.clone(), client, cookie: None }
    }

    async fn send(&self, req: reqwest::RequestBuilder) -> Got {
        let req = match &self.cookie {
            Some(c) => req.header("Cookie", format!("{}={c}", scimbox::http::ui::session::COOKIE)),
            None => req,
        };
        let resp = req.send().await.expect("request");
        let (status, headers) = (resp.status(), resp.headers().clone());
        Got { status, headers, html: resp.text().await.expect("body") }
    }

    async fn get(&self, path: &str) -> Got {
        self.send(self.client.get(format!("{}{path}", self.origin))).await
    }

    async fn post(&self, path: &str, form: &[(&str, &str)]) -> Got {
        let req = self
            .client
            .post(format!("{}{path}", self.origin))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(form_encode(form));
        self.send(req).await
    }

    /// Logs in as `name`; keeps the session cookie.
    async fn login(&mut self, name: &str, password: &str) -> Got {
        let got = self.post("/login", &[("name", name), ("password", password), ("next", "/users")]).await;
        let cookie = got.headers.get(SET_COOKIE).and_then(|v| v.to_str().ok()).unwrap_or("");
        let value = cookie.split(';').next().and_then(|kv| kv.split_once('=')).map(|(_, v)| v.to_owned());
        if got.status == StatusCode::SEE_OTHER {
            self.cookie = value;
        }
        got
    }

    /// The CSRF token in the forms of `path`.
    async fn csrf(&self, path: &str) -> String {
        csrf_of(self.get(path).await.assert_ok())
    }
}

fn csrf_of(html: &str) -> String {
    let start = html.find(r#"name="csrf" value=""#).expect("a CSRF field") + r#"name="csrf" value=""#.len();
    html[start..].split('"').next().unwrap_or_default().to_owned()
}

/// Adds the administrator `alice`.
async fn add_alice(app: &TestApp) {
    let hash = admin::hash_password(PASSWORD).expect("hash");
    let now = scimbox::stamp::timestamp(scimbox::clock::now());
    app.db.write(move |c| admins::insert(c, "alice", &hash, &now)).await.expect("admin");
}

/// A server with `alice`, and a browser logged in as her.
async fn logged_in() -> (TestApp, Browser) {
    let app = TestApp::spawn().await;
    add_alice(&app).await;
    let mut browser = Browser::new(&app);
    let got = browser.login("alice", PASSWORD).await;
    assert_eq!((got.status, got.location()), (StatusCode::SEE_OTHER, "/users"), "{}", got.html);
    (app, browser)
}

/// Fetches `path` until its HTML contains `needle` (the journal is written about once a second).
async fn eventually(browser: &Browser, path: &str, needle: &str) -> String {
    let start = Instant::now();
    loop {
        let got = browser.get(path).await;
        if got.html.contains(needle) || start.elapsed() > Duration::from_secs(10) {
            assert!(got.html.contains(needle), "{path} never showed {needle:?}:\n{}", got.html);
            return got.html;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The `<section>`/element of `html` that starts at `id="..."`, up to the next `</section>` or
/// `</table>`, for narrower assertions.
fn part<'a>(html: &'a str, id: &str) -> &'a str {
    let start = html.find(&format!("id=\"{id}\"")).unwrap_or_else(|| panic!("no #{id} in:\n{html}"));
    let rest = &html[start..];
    let end = ["</section>", "</table>", "</dl>", "</div>"].iter().filter_map(|t| rest.find(t)).min();
    &rest[..end.unwrap_or(rest.len())]
}

#[tokio::test]
async fn pages_need_a_login_and_say_where_to_go_back() {
    let app = TestApp::spawn().await;
    let anon = Browser::new(&app);
    for path in ["/", "/users?q=a", "/users/x", "/accounts", "/groups", "/tokens", "/journal", "/journal/1"] {
        let got = anon.get(path).await;
        assert_eq!(got.status, StatusCode::SEE_OTHER, "{path}");
        let next = form_encode(&[("next", path)]);
        assert_eq!(got.location(), format!("/login?{next}"), "{path}");
    }
    let got = anon.post("/tokens", &[("name", "x")]).await;
    assert!(got.status == StatusCode::SEE_OTHER && got.location().starts_with("/login"));
    let page = anon.get("/login?next=/tokens").await;
    assert!(page.assert_ok().contains(r#"<label for="password">"#));
    assert!(page.html.contains(r#"name="next" value="/tokens""#));
    let csp = page.headers.get("content-security-policy").and_then(|v| v.to_str().ok()).unwrap_or("");
    assert!(csp.contains("default-src 'self'") && csp.contains("frame-ancestors 'none'"), "{csp}");
}

#[tokio::test]
async fn login_errors_are_plain_and_throttled() {
    let app = TestApp::spawn().await;
    add_alice(&app).await;
    let mut b = Browser::new(&app);
    let got = b.login("alice", "wrong password").await;
    assert_eq!(got.status, StatusCode::UNAUTHORIZED);
    assert!(got.html.contains("Wrong name or password.") && got.html.contains(r#"value="alice""#));
    for _ in 0..4 {
        b.login("alice", "wrong password").await;
    }
    let got = b.login("alice", PASSWORD).await;
    assert_eq!(got.status, StatusCode::TOO_MANY_REQUESTS, "{}", got.html);
    assert!(got.html.contains("too many failed logins") && got.html.contains("try again in"), "{}", got.html);
    assert!(b.cookie.is_none());
}

#[tokio::test]
async fn login_goes_back_but_never_to_another_site() {
    let app = TestApp::spawn().await;
    add_alice(&app).await;
    let b = Browser::new(&app);
    for (next, to) in
        [("/journal?failures=1", "/journal?failures=1"), ("//evil.example/", "/"), ("https://evil.example", "/")]
    {
        let got = b.post("/login", &[("name", "alice"), ("password", PASSWORD), ("next", next)]).await;
        assert_eq!((got.status, got.location()), (StatusCode::SEE_OTHER, to), "{next}");
    }
}

#[tokio::test]
async fn overview_counts_users_connections_and_expiring_tokens() {
    let (app, b) = logged_in().await;
    app.create_user(&user("ann@example.com")).await;
    app.create_user(&user("ben@example.com")).await;
    app.create_user(&json!({"userName": "cy@example.com", "active": false})).await;
    app.post("/Users", &json!({"userName": 5})).await.assert_error(400, Some("invalidValue"));
    let home = eventually(&b, "/", "data-label=\"Requests\">4</td>").await;
    assert!(home.contains(r#"id="users-active">2<"#) && home.contains(r#"id="users-inactive">1<"#), "{home}");
    let row = part(&home, "connections");
    assert!(
        row.contains(">test</th>") && row.contains(r#"href="/journal?connection=test&amp;outcome=failed""#),
        "{row}"
    );
    assert!(home.contains(r#"id="expiring-none""#));
    assert!(home.contains(r#"id="admin-name">alice<"#) && home.contains(r#"action="/logout""#));
    let csrf = csrf_of(&home);
    b.post("/tokens", &[("csrf", &csrf), ("name", "okta-soon"), ("expires_in", "3d")]).await;
    let home = b.get("/").await;
    assert!(part(&home.html, "expiring").contains("okta-soon"), "{}", home.html);
}

#[tokio::test]
async fn users_are_searched_filtered_paged_and_escaped() {
    let (app, b) = logged_in().await;
    for i in 0..52 {
        app.create_user(
            &json!({"userName": format!("u{i:02}"), "emails": [{"value": format!("person{i:02}@corp.example")}]}),
        )
        .await;
    }
    app.create_user(&json!({"userName": XSS, "active": false, "displayName": XSS})).await;
    let page1 = b.get("/users").await;
    assert!(page1.assert_ok().contains(r#"id="users-total">53 users"#), "{}", page1.html);
    assert_eq!(page1.html.matches("<th scope=\"row\"><a href=\"/users/").count(), 50);
    assert!(page1.html.contains(r#"rel="next" href="/users?page=2""#));
    let page2 = b.get("/users?page=2").await;
    assert_eq!(page2.html.matches("<th scope=\"row\"><a href=\"/users/").count(), 3);
    let by_email = b.get("/users?q=PERSON07%40corp").await;
    assert!(by_email.html.contains(">u07</a>") && by_email.html.contains("1 user matching"), "{}", by_email.html);
    let by_name = b.get("/users?q=u1").await;
    assert!(by_name.html.contains("10 users matching"), "{}", by_name.html);
    let inactive = b.get("/users?status=inactive").await;
    assert!(inactive.html.contains("1 user") && !inactive.html.contains(">u00</a>"));
    assert_escaped(&inactive.html);
    assert!(inactive.html.contains("&#60;script&#62;alert(1)&#60;/script&#62;"), "{}", inactive.html);
    let wildcard = b.get("/users?q=%25").await;
    assert!(wildcard.html.contains("0 users matching"), "LIKE wildcards are literal: {}", wildcard.html);
}

/// `text` as askama escapes it.
fn escape(text: &str) -> String {
    let pairs = [('&', "&#38;"), ('<', "&#60;"), ('>', "&#62;"), ('"', "&#34;"), ('\'', "&#39;")];
    text.chars().map(|c| pairs.iter().find(|(k, _)| *k == c).map_or(c.to_string(), |(_, v)| (*v).to_string())).collect()
}

/// No raw `<script>alert(1)` made it into the page.
#[track_caller]
fn assert_escaped(html: &str) {
    assert!(!html.contains(XSS) && !html.contains("<script>alert"), "unescaped user data:\n{html}");
}

#[tokio::test]
async fn user_page_shows_attributes_access_groups_and_history() {
    let (app, b) = logged_in().await;
    app.db
        .write(|c| {
            let t = "2026-01-01T00:00:00.000Z";
            accounts::add(c, "ACC100", "Acme Corp", None, t)?;
            accounts::add(c, "ACC110", "Acme EU", Some("ACC100"), t)?;
            accounts::add(c, "ACC200", "Beta", None, t)
        })
        .await
        .expect("accounts");
    let body = json!({
        "userName": XSS,
        "name": {"givenName": "Mallory"},
        "emails": [{"value": "m@example.com", "primary": true}],
        "accounts": [{"accountId": "ACC100", "roles": ["Editor"]}],
    });
    let id = app.create_user(&body).await["id"].as_str().expect("id").to_owned();
    let group = app.post("/Groups", &json!({"displayName": "Engineers <b>", "members": [{"value": id}]})).await;
    assert_eq!(group.status.as_u16(), 201, "{}", group.text);
    app.patch(
        &format!("/Users/{id}"),
        &json!({"Operations": [{"op": "replace", "path": "name.givenName", "value": "Mal"}]}),
    )
    .await;
    let html = eventually(&b, &format!("/users/{id}"), ">PATCH</span>").await;
    assert_escaped(&html);
    assert!(html.contains("<h1>&#60;script&#62;alert(1)&#60;/script&#62;"), "{html}");
    let attrs = part(&html, "attributes");
    assert!(attrs.contains("<dt>name.givenName</dt><dd>Mal</dd>") && attrs.contains("m@example.com"), "{attrs}");
    let access = part(&html, "access");
    assert!(access.contains("<strong>ACC100</strong>") && access.contains("Acme Corp"), "{access}");
    let child = &access[access.find("ACC110").expect("the child account")..];
    assert!(child.contains("inherited from ACC100") && child.contains("roles: Editor"), "{access}");
    let (parent, nested) = (access.find("ACC100").expect("parent"), access.find("ACC110").expect("child"));
    assert!(access[parent..nested].contains("<ul>") && !access.contains("ACC200"), "nested under its parent: {access}");
    assert!(html.contains("Engineers &#60;b&#62;</a>"), "{html}");
    let history = part(&html, "changes");
    assert!(
        history.contains("updated") && history.contains("<del>Mallory</del>") && history.contains("<ins>Mal</ins>")
    );
    assert!(html.contains("PATCH") && html.contains(&format!("/scim/v2/Users/{id}")));
    let missing = b.get("/users/no-such-user").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert!(missing.html.contains("There is no user with id no-such-user"));
}

/// One access item as the user page shows it, or as the SCIM `access` attribute says it:
/// (accountId, active, inheritedFrom, roles, teams).
type Shown = (String, bool, Option<String>, String, String);

/// The items of the user page's access tree.
fn access_on_page(html: &str) -> Vec<Shown> {
    let between = |chunk: &str, start: &str| {
        let from = chunk.find(start)? + start.len();
        chunk[from..].find("</span>").map(|end| chunk[from..from + end].to_owned())
    };
    let mut items: Vec<Shown> = part(html, "access")
        .split("<li><span class=\"node\"><strong>")
        .skip(1)
        .map(|chunk| {
            let id = chunk[..chunk.find("</strong>").expect("an account id")].to_owned();
            let inherited = between(chunk, "inherited from ");
            let roles = between(chunk, "roles: ").unwrap_or_default();
            let teams = between(chunk, "teams: ").unwrap_or_default();
            (id, !chunk.contains("badge off"), inherited, roles, teams)
        })
        .collect();
    items.sort();
    items
}

#[tokio::test]
async fn user_page_access_is_the_scim_access_attribute() {
    let (app, b) = logged_in().await;
    app.db
        .write(|c| {
            let t = "2026-01-01T00:00:00.000Z";
            accounts::add(c, "ACC100", "Acme Corp", None, t)?;
            accounts::add(c, "ACC110", "Acme EU", Some("ACC100"), t)?;
            accounts::add(c, "ACC111", "Acme Paris", Some("ACC110"), t)?;
            accounts::add(c, "ACC200", "Beta", None, t)
        })
        .await
        .expect("accounts");
    let body = json!({
        "userName": "ines",
        "accounts": [
            {"accountId": "ACC100", "roles": ["Editor", "Viewer"], "teams": ["Ops"]},
            {"accountId": "ACC110", "roles": ["Admin"]},
            {"accountId": "ACC200", "roles": ["Viewer"], "status": "Inactive"},
        ],
    });
    let id = app.create_user(&body).await["id"].as_str().expect("id").to_owned();
    let urn = scimbox_validator::schema::SCIMBOX_USER_URN;
    let scim = app.get(&format!("/Users/{id}?attributes={urn}:access")).await;
    assert_eq!(scim.status.as_u16(), 200, "{}", scim.text);
    let list = scim.body[urn]["access"].as_array().cloned().unwrap_or_default();
    let words = |v: &serde_json::Value| {
        v.as_array().into_iter().flatten().filter_map(|r| r.as_str()).collect::<Vec<_>>().join(", ")
    };
    let mut from_scim: Vec<Shown> = list
        .iter()
        .map(|a| {
            (
                a["accountId"].as_str().unwrap_or_default().to_owned(),
                a["status"] != "Inactive",
                a["inheritedFrom"].as_str().map(str::to_owned),
                words(&a["roles"]),
                words(&a["teams"]),
            )
        })
        .collect();
    from_scim.sort();
    assert!(from_scim.len() >= 4, "the grants and what they reach: {}", scim.text);
    let page = b.get(&format!("/users/{id}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(access_on_page(&page.html), from_scim, "{}", part(&page.html, "access"));
}

#[tokio::test]
async fn accounts_and_groups_pages() {
    let (app, b) = logged_in().await;
    app.db
        .write(|c| {
            let t = "2026-01-01T00:00:00.000Z";
            accounts::add(c, "ACC100", "Acme Corp", None, t)?;
            accounts::add(c, "ACC110", "Acme EU", Some("ACC100"), t)?;
            accounts::add_role(c, "Editor", t)
        })
        .await
        .expect("accounts");
    app.create_user(&json!({"userName": "a", "accounts": [{"accountId": "ACC110"}]})).await;
    let html = b.get("/accounts").await;
    let tree = part(html.assert_ok(), "accounts");
    let (parent, child) = (tree.find("ACC100").expect("parent"), tree.find("ACC110").expect("child"));
    assert!(tree[parent..child].contains("<ul>"), "ACC110 is nested under ACC100: {tree}");
    assert!(tree[child..].contains(">1 user<") && tree[parent..child].contains(">0 users<"), "{tree}");
    assert!(part(&html.html, "roles").contains("Editor"));
    let uid = app.create_user(&user("member")).await["id"].as_str().expect("id").to_owned();
    let gid = app.post("/Groups", &json!({"displayName": "Ops", "members": [{"value": uid}]})).await.body["id"]
        .as_str()
        .expect("group id")
        .to_owned();
    let groups = b.get("/groups").await;
    assert!(
        groups
            .assert_ok()
            .contains(&format!(r#"href="/groups/{gid}">Ops</a></th><td class="n" data-label="Members">1</td>"#)),
        "{}",
        groups.html
    );
    let group = b.get(&format!("/groups/{gid}")).await;
    assert!(group.assert_ok().contains(&format!(r#"href="/users/{uid}">member</a>"#)), "{}", group.html);
    let history = part(&group.html, "changes");
    assert!(history.contains("created") && history.contains(&uid), "the membership is in the history: {history}");
}

#[tokio::test]
async fn tokens_are_shown_once_revoked_and_need_csrf() {
    let (app, b) = logged_in().await;
    let csrf = b.csrf("/tokens").await;
    let missing = b.post("/tokens", &[("name", "okta-prod"), ("expires_in", "90d")]).await;
    assert_eq!(missing.status, StatusCode::FORBIDDEN);
    let wrong = b.post("/tokens", &[("csrf", "forged"), ("name", "okta-prod")]).await;
    assert_eq!(wrong.status, StatusCode::FORBIDDEN);
    assert!(!b.get("/tokens").await.html.contains(">okta-prod</th>"), "a refused form created nothing");
    let created = b.post("/tokens", &[("csrf", &csrf), ("name", "okta-prod"), ("expires_in", "90d")]).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.html);
    let start = created.html.find(r#"id="new-token" class="secret" readonly value=""#).expect("the new token");
    let secret = created.html[start..].split("value=\"").nth(1).and_then(|s| s.split('"').next()).expect("value");
    assert!(secret.starts_with("scimbox_"), "{secret}");
    let scim = |token: String| {
        let url = format!("{}/Users", app.base);
        async move { reqwest::Client::new().get(url).bearer_auth(token).send().await.expect("request").status() }
    };
    assert_eq!(scim(secret.to_owned()).await, StatusCode::OK);
    let listed = b.get("/tokens").await;
    assert!(listed.html.contains(">okta-prod</th>") && !listed.html.contains(secret), "shown once only");
    let again = b.post("/tokens", &[("csrf", &csrf), ("name", "okta-prod")]).await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert!(again.html.contains("already exists"), "{}", again.html);
    let bad = b.post("/tokens", &[("csrf", &csrf), ("name", "x"), ("expires_in", "soon")]).await;
    assert!(bad.status == StatusCode::BAD_REQUEST && bad.html.contains("not a duration"), "{}", bad.html);
    let no_csrf = b.post("/tokens/okta-prod/revoke", &[]).await;
    assert_eq!(no_csrf.status, StatusCode::FORBIDDEN);
    // Issue 16: the Revoke button asks first; only the confirmation's ticked box revokes.
    let asked = b.post("/tokens/okta-prod/revoke", &[("csrf", &csrf)]).await;
    assert!(
        asked.assert_ok().contains(r#"id="revoke-confirm""#)
            && asked.html.contains(r#"name="confirm" value="yes" required"#)
    );
    assert!(asked.html.contains(r#"action="/tokens/okta-prod/rotate""#), "rotation is offered instead");
    let unticked = b.post("/tokens/okta-prod/revoke", &[("csrf", &csrf), ("confirm", "")]).await;
    assert!(unticked.assert_ok().contains(r#"id="revoke-confirm""#));
    assert_eq!(scim(secret.to_owned()).await, StatusCode::OK, "asking revoked nothing");
    let unknown = b.post("/tokens/nope/revoke", &[("csrf", &csrf)]).await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    let revoked = b.post("/tokens/okta-prod/revoke", &[("csrf", &csrf), ("confirm", "yes")]).await;
    assert_eq!((revoked.status, revoked.location()), (StatusCode::SEE_OTHER, "/tokens?revoked=okta-prod"));
    let after = b.get(revoked.location()).await;
    assert!(after.html.contains(r#"id="notice""#) && after.html.contains(">revoked</span>"), "{}", after.html);
    tokio::time::sleep(scimbox::auth::CACHE_TTL).await;
    assert_eq!(scim(secret.to_owned()).await, StatusCode::UNAUTHORIZED);
    let twice = b.post("/tokens/okta-prod/revoke", &[("csrf", &csrf), ("confirm", "yes")]).await;
    assert_eq!(twice.status, StatusCode::NOT_FOUND);
    let forged = b.get("/tokens?revoked=everything").await;
    assert!(!forged.html.contains(r#"id="notice""#), "only a real revoke is announced");
}

#[tokio::test]
async fn compatibility_report_lists_clients_and_quirks() {
    let (app, b) = logged_in().await;
    let url = format!("{}/Users", app.base);
    let resp = reqwest::Client::new()
        .post(url)
        .header("Authorization", app.token.clone())
        .header("Content-Type", "application/json")
        .header("User-Agent", "Okta SCIM Client 1.0.0")
        .body(user("quirky").to_string())
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status().as_u16(), 201);
    let html = eventually(&b, "/tokens", "Okta SCIM Client 1.0.0").await;
    for quirk in [Quirk::BareToken, Quirk::PlainJson] {
        let row = format!(
            "<code>{}</code></th><td data-label=\"What scimbox did\">{}</td>",
            quirk.code(),
            escape(quirk.description())
        );
        assert!(html.contains(&row), "{row} in {html}");
    }
}

#[tokio::test]
async fn journal_lists_failures_first_with_reasons_and_shows_bodies() {
    let (app, b) = logged_in().await;
    app.create_user(&json!({"userName": "ok", "password": "hunter2-secret"})).await;
    app.post("/Users", &json!({"userName": "ok"})).await.assert_error(409, Some("uniqueness"));
    app.create_user(&user("later")).await;
    let html = eventually(&b, "/journal?failures=1", "3 requests recorded, 1 failed").await;
    let first = html.find("status bad").expect("a failure");
    assert!(first < html.find("status ok").expect("a success"), "failures first");
    assert!(html.contains("Why:") && html.contains("Fix:") && html.contains("already taken"), "{html}");
    let newest = b.get("/journal").await;
    assert!(newest.html.find("status ok").expect("ok") < newest.html.find("status bad").expect("bad"));
    let seq = html[html.find("href=\"/journal/").expect("link") + 15..].split('"').next().expect("seq").to_owned();
    let entry = b.get(&format!("/journal/{seq}")).await;
    assert!(entry.assert_ok().contains("Suggested fix:") && entry.html.contains("&#34;userName&#34;: &#34;ok&#34;"));
    let created = b.get("/journal").await;
    let all: Vec<&str> = created.html.match_indices("href=\"/journal/").map(|(i, _)| &created.html[i + 15..]).collect();
    let oldest = all.last().expect("entries").split('"').next().expect("seq");
    let entry = b.get(&format!("/journal/{oldest}")).await;
    assert!(!entry.html.contains("hunter2-secret"), "passwords are redacted: {}", entry.html);
    assert!(entry.html.contains("/users/"), "links to the user: {}", entry.html);
    assert_eq!(b.get("/journal/999999").await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn checker_is_public_and_answers_without_javascript() {
    let app = TestApp::spawn().await;
    let anon = Browser::new(&app);
    let page = anon.get("/check").await;
    assert!(page.assert_ok().contains(r#"<textarea id="payload" name="text""#));
    assert!(page.html.contains(r#"<script type="module" src="/static/check.js?v="#));
    assert!(!page.html.contains(r#"id="catalogue""#), "no registry for visitors");
    assert!(!page.html.contains(r#"action="/logout""#));
    let text = "[\n  {\"accountId\": \"ACC1\"},\n  {\"acountId\": \"ACC2\"}\n]";
    let got = anon.post("/check", &[("text", text)]).await;
    let verdict = part(got.assert_ok(), "verdict");
    assert!(verdict.contains("1 fault") && verdict.contains("line 3, column 4"), "{verdict}");
    assert!(verdict.contains("did you mean &#34;accountId&#34;?"), "{verdict}");
    assert!(got.html.contains(r#"<span>2</span><span class="bad">3</span>"#), "the gutter marks line 3");
    assert!(got.html.contains("&#34;acountId&#34;"), "the text is kept, escaped");
    let good = anon.post("/check", &[("text", r#"{"accountId": "ACC1", "roles": ["Editor"]}"#)]).await;
    assert!(part(&good.html, "verdict").contains("Valid"), "{}", good.html);
    let xss = anon.post("/check", &[("text", &format!("{{\"userName\": \"{XSS}\", \"active\": 5}}"))]).await;
    assert_escaped(&xss.html);
    assert!(xss.html.contains("</textarea>") && xss.html.matches("</textarea>").count() == 1);
    let wasm = anon.get("/static/check.js").await;
    assert!(wasm.assert_ok().contains(r#"from "/assets/validator.js""#));
}

#[tokio::test]
async fn checker_uses_the_registry_for_an_admin() {
    let (app, b) = logged_in().await;
    app.db
        .write(|c| {
            accounts::add(c, "ACC123", "Acme", None, "2026-01-01T00:00:00.000Z")?;
            accounts::add(c, "X</script>", "Tricky", None, "2026-01-01T00:00:00.000Z")?;
            accounts::add_role(c, "Editor", "2026-01-01T00:00:00.000Z")
        })
        .await
        .expect("registry");
    let page = b.get("/check").await;
    let cat = part(page.assert_ok(), "catalogue");
    assert!(cat.contains(r#"{"accounts":["ACC123","X\u003c/script\u003e"],"roles":["Editor"]}"#), "{cat}");
    assert!(!page.html.contains("X</script>"), "the catalogue cannot end its script element");
    let unknown = b.post("/check", &[("text", r#"{"accountId": "ACC999"}"#)]).await;
    assert!(part(&unknown.html, "verdict").contains("ACC999"), "{}", unknown.html);
    let known = b.post("/check", &[("text", r#"{"accountId": "ACC123", "roles": ["editor"]}"#)]).await;
    assert!(part(&known.html, "verdict").contains("Valid"), "{}", known.html);
}

#[tokio::test]
async fn static_files_are_cached_by_etag() {
    let app = TestApp::spawn().await;
    let b = Browser::new(&app);
    let css = b.get("/static/style.css").await;
    assert!(css.assert_ok().contains("prefers-color-scheme"));
    assert_eq!(css.headers.get("content-type").and_then(|v| v.to_str().ok()), Some("text/css; charset=utf-8"));
    let etag = css.headers.get("etag").and_then(|v| v.to_str().ok()).expect("etag").to_owned();
    let req = b.client.get(format!("{}/static/style.css", app.origin)).header("If-None-Match", &etag);
    assert_eq!(b.send(req).await.status, StatusCode::NOT_MODIFIED);
    let version = etag.trim_matches('"');
    let pinned = b.get(&format!("/static/style.css?v={version}")).await;
    let cache = pinned.headers.get("cache-control").and_then(|v| v.to_str().ok()).unwrap_or("");
    assert!(cache.contains("immutable"), "{cache}");
}

#[tokio::test]
async fn logout_needs_csrf_and_ends_the_session() {
    let (_app, b) = logged_in().await;
    let csrf = b.csrf("/").await;
    assert_eq!(b.post("/logout", &[]).await.status, StatusCode::FORBIDDEN);
    assert_eq!(b.get("/").await.status, StatusCode::OK, "a refused logout keeps the session");
    let out = b.post("/logout", &[("csrf", &csrf)]).await;
    assert_eq!((out.status, out.location()), (StatusCode::SEE_OTHER, "/login"));
    let cleared = out.headers.get(SET_COOKIE).and_then(|v| v.to_str().ok()).unwrap_or("");
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
    assert_eq!(b.get("/").await.status, StatusCode::SEE_OTHER, "the old cookie no longer works");
}

/// The first `href="PREFIX..."` link of `html` (its whole value).
fn first_link(html: &str, prefix: &str) -> String {
    let needle = format!("href=\"{prefix}");
    let start = html.find(&needle).unwrap_or_else(|| panic!("no link to {prefix}... in:\n{html}")) + "href=\"".len();
    html[start..].split('"').next().unwrap_or_default().to_owned()
}

/// Issue 16: every page, the login and error pages too, has exactly one `<h1>`, names a favicon
/// that is answered (and `/favicon.ico` is, for clients that look there unasked), and puts the
/// navigation before the Log out button, so it comes first in tab order.
#[tokio::test]
async fn every_page_has_one_h1_a_favicon_and_the_navigation_before_log_out() {
    let (app, b) = logged_in().await;
    let ann = app.create_user(&user("ann@example.com")).await;
    let group = app.post("/Groups", &json!({"displayName": "Ops", "members": [{"value": ann["id"]}]})).await;
    assert_eq!(group.status, StatusCode::CREATED, "{}", group.text);
    let journal = eventually(&b, "/journal", "href=\"/journal/").await;
    let entry = first_link(&journal, "/journal/");
    let paths = [
        "/".to_owned(),
        "/users".to_owned(),
        format!("/users/{}", ann["id"].as_str().unwrap()),
        "/accounts".to_owned(),
        "/groups".to_owned(),
        format!("/groups/{}", group.body["id"].as_str().unwrap()),
        "/tokens".to_owned(),
        "/journal".to_owned(),
        entry,
        "/check".to_owned(),
        "/users/no-such-user".to_owned(),
        "/webhooks".to_owned(),
    ];
    let anon = Browser::new(&app);
    let mut pages = Vec::new();
    for path in &paths {
        pages.push((path.clone(), b.get(path).await));
    }
    pages.push(("/login (logged out)".into(), anon.get("/login").await));
    pages.push(("/check (logged out)".into(), anon.get("/check").await));
    for (path, got) in &pages {
        let html = &got.html;
        assert_eq!(html.matches("<h1").count(), 1, "{path}: one <h1>:\n{html}");
        // The error page is plain (no navigation, no session form); every other page has both.
        let nav = html.find(r#"<nav aria-label="Main">"#);
        assert!(nav.is_some() || got.status == StatusCode::NOT_FOUND, "{path}: no navigation");
        if let (Some(nav), Some(logout)) = (nav, html.find(r#"action="/logout""#)) {
            assert!(nav < logout, "{path}: Log out comes before the navigation");
        }
        let icon = html.find(r#"<link rel="icon" href=""#).unwrap_or_else(|| panic!("{path}: no favicon link"));
        let href = html[icon + r#"<link rel="icon" href=""#.len()..].split('"').next().unwrap().replace("&#61;", "=");
        let got = anon.get(&href).await;
        assert_eq!(got.status, StatusCode::OK, "{path}: its favicon {href}");
        assert_eq!(got.headers["content-type"], "image/svg+xml");
    }
    // "Tokens" is the page's title, no longer also the title of its first section.
    let tokens = &pages[6].1.html;
    assert!(tokens.contains("<h1>Tokens</h1>") && !tokens.contains(">Tokens</h2>"), "{tokens}");
    let ico = anon.get("/favicon.ico").await;
    assert_eq!(ico.status, StatusCode::OK);
    assert_eq!(ico.headers["content-type"], "image/svg+xml");
    assert!(ico.html.starts_with("<svg") && ico.headers.contains_key("etag"), "{}", ico.html);
}

/// The rows of the journal's list: each row's HTML.
fn journal_rows(html: &str) -> Vec<&str> {
    let Some(table) = html.find(r#"<table class="entries"#) else { return Vec::new() };
    let body = &html[table..];
    let body = &body[body.find("<tbody>").unwrap_or(0)..body.find("</tbody>").unwrap_or(body.len())];
    body.split("<tr").skip(1).collect()
}

/// The statuses of the journal's rows, in order.
fn statuses(html: &str) -> Vec<u16> {
    journal_rows(html)
        .iter()
        .map(|row| {
            let at = row.find(r#"<span class="status "#).expect("a status") + r#"<span class="status "#.len();
            row[at..].split('>').nth(1).and_then(|s| s.split('<').next()).unwrap_or("").parse().expect("a number")
        })
        .collect()
}

/// Issue 16: the journal narrows by connection, outcome, user and time, all as query parameters
/// applied in SQL, so a filtered view is a link; rows of writes name their user.
#[tokio::test]
async fn journal_filters_narrow_the_rows_and_rows_name_their_user() {
    let (app, b) = logged_in().await;
    // A second connection.
    let okta = scimbox::auth::generate();
    let hash = scimbox::auth::hash(&okta);
    let now = scimbox::stamp::timestamp(scimbox::clock::now());
    app.db.write(move |c| scimbox::db::tokens::insert(c, "okta", &hash, &now, None)).await.expect("token");
    let ann = app.create_user(&user("Ann@example.com")).await;
    let ann_id = ann["id"].as_str().unwrap().to_owned();
    app.post("/Users", &user("ann@example.com")).await.assert_error(409, Some("uniqueness"));
    let patch = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                       "Operations": [{"op": "replace", "path": "title", "value": "Boss"}]});
    assert_eq!(app.patch(&format!("/Users/{ann_id}"), &patch).await.status, StatusCode::OK);
    let cy = app
        .client
        .post(format!("{}/Users", app.base))
        .bearer_auth(&okta)
        .header("Content-Type", "application/scim+json")
        .body(user("cy@example.com").to_string())
        .send()
        .await
        .expect("request");
    assert_eq!(cy.status(), StatusCode::CREATED);
    let anon = app.client.get(format!("{}/Users", app.base)).send().await.expect("request");
    assert_eq!(anon.status(), StatusCode::UNAUTHORIZED);
    let all = eventually(&b, "/journal", "5 requests recorded, 2 failed").await;
    assert_eq!(statuses(&all), [401, 201, 200, 409, 201], "newest first");

    // The PATCH row names its user, linked, though its body does not; the refused create too.
    let rows = journal_rows(&all);
    assert!(rows[2].contains(&format!(r#"<a href="/users/{ann_id}">Ann@example.com</a>"#)), "{}", rows[2]);
    assert!(rows[3].contains(r#"<span class="subject">ann@example.com</span>"#), "{}", rows[3]);

    let narrowed = |q: &'static str| {
        let b = &b;
        async move {
            let got = b.get(&format!("/journal?{q}")).await;
            assert_eq!(got.status, StatusCode::OK, "{q}: {}", got.html);
            statuses(&got.html)
        }
    };
    assert_eq!(narrowed("connection=okta").await, [201]);
    assert_eq!(narrowed("connection=-").await, [401]);
    assert_eq!(narrowed("connection=test").await, [200, 409, 201]);
    assert_eq!(narrowed("outcome=failed").await, [401, 409]);
    assert_eq!(narrowed("outcome=succeeded").await, [201, 200, 201]);
    // By userName in any case (the create, the refused create naming it, the PATCH), or by id.
    assert_eq!(narrowed("user=ANN%40example.com").await, [200, 409, 201]);
    assert_eq!(statuses(&b.get(&format!("/journal?user={ann_id}")).await.html), [200, 409, 201]);
    assert_eq!(narrowed("user=ann%40example.com&outcome=failed").await, [409]);
    assert_eq!(narrowed("user=nobody").await, Vec::<u16>::new());
    assert_eq!(narrowed("user=cy%40example.com&connection=okta&failures=1").await, [201]);
    // Time: a range that holds everything, one in the future, one in the past, one back from now.
    assert_eq!(narrowed("from=2000-01-01&to=2999-12-31T23:59").await.len(), 5);
    assert_eq!(narrowed("from=2999-01-01").await, Vec::<u16>::new());
    assert_eq!(narrowed("to=2000-01-01").await, Vec::<u16>::new());
    assert_eq!(narrowed("from=1h&outcome=failed").await, [401, 409]);

    // The filtered view says what matched, keeps the filters in its form and in its order toggle.
    let got = b.get("/journal?outcome=failed&user=ann%40example.com").await;
    assert!(got.html.contains(r#"id="journal-matched">1 request matches, 1 failed."#), "{}", got.html);
    assert!(
        got.html.contains(r#"<option value="failed" selected>"#) && got.html.contains(r#"value="ann@example.com""#)
    );
    assert!(
        got.html.contains(r#"href="/journal?outcome=failed&#38;user=ann%40example.com&#38;failures=1""#),
        "{}",
        got.html
    );

    // Bad filters are told, not ignored.
    for (q, says) in [
        ("from=yesterday", "From: &#34;yesterday&#34; is not a time"),
        ("to=1h", "To: &#34;1h&#34; is not a time"),
        ("outcome=maybe", "The outcome &#34;maybe&#34; is not one the journal knows"),
    ] {
        let got = b.get(&format!("/journal?{q}")).await;
        assert_eq!(got.status, StatusCode::BAD_REQUEST, "{q}");
        assert!(got.html.contains(says), "{q}: {}", got.html);
    }
}

/// Issue 16: a group's history is paged, 50 changes a page, newest first.
#[tokio::test]
async fn group_history_is_paged() {
    let (app, b) = logged_in().await;
    let group = app.post("/Groups", &json!({"displayName": "Ops"})).await;
    let id = group.body["id"].as_str().unwrap().to_owned();
    for i in 0..54 {
        let patch = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                           "Operations": [{"op": "replace", "path": "displayName", "value": format!("Ops {i}")}]});
        assert_eq!(app.patch(&format!("/Groups/{id}"), &patch).await.status, StatusCode::OK);
    }
    let changes = |html: &str| html.matches(r#"<strong class="action">"#).count();
    let first = b.get(&format!("/groups/{id}")).await;
    assert_eq!(changes(first.assert_ok()), 50);
    assert!(first.html.contains(r#"id="changes-total">55 changes recorded"#), "{}", first.html);
    assert!(first.html.contains(&format!(r#"<a rel="next" href="/groups/{id}?page=2">"#)), "{}", first.html);
    let second = b.get(&format!("/groups/{id}?page=2")).await;
    assert_eq!(changes(second.assert_ok()), 5);
    assert!(second.html.contains(">created</strong>"), "the oldest change, the creation, is on the last page");
    assert!(!first.html.contains(">created</strong>"));
    let beyond = b.get(&format!("/groups/{id}?page=9")).await;
    assert_eq!(changes(beyond.assert_ok()), 5, "a page past the end shows the last one");
    assert!(beyond.html.contains("Page 2 of 2"), "{}", beyond.html);
}

/// Issue 16: the overview and the tokens page show the SCIM base URL an IdP needs (from
/// `--public-url`, else as the request reached the server), each with a Copy button, and a new
/// token has one too (the buttons are hidden until the script shows them).
#[tokio::test]
async fn the_scim_base_url_and_copy_buttons() {
    let (app, b) = logged_in().await;
    let here = format!(r#"id="scim-url" class="secret" readonly value="{}/scim/v2""#, app.origin);
    for path in ["/", "/tokens"] {
        let html = b.get(path).await;
        assert!(html.assert_ok().contains(&here), "{path}: {}", html.html);
        assert!(html.html.contains(r#"<button type="button" data-copy="scim-url" hidden>Copy</button>"#), "{path}");
        assert!(html.html.contains(r#"<script type="module" src="/static/copy.js?v="#), "{path}");
    }
    let csrf = b.csrf("/tokens").await;
    let created = b.post("/tokens", &[("csrf", &csrf), ("name", "okta")]).await;
    assert!(created.html.contains(r#"data-copy="new-token""#), "{}", created.html);
    let script = b.get("/static/copy.js").await;
    assert_eq!(script.status, StatusCode::OK);
    assert!(script.html.contains("navigator.clipboard.writeText"));

    let public = TestApp::spawn_with(|c| c.with_public_url("https://scim.example.com").expect("url")).await;
    add_alice(&public).await;
    let mut b = Browser::new(&public);
    b.login("alice", PASSWORD).await;
    let html = b.get("/").await;
    assert!(html.html.contains(r#"value="https://scim.example.com/scim/v2""#), "{}", html.html);
}

/// Issue 16, from failure to fix: a refused create's journal entry marks the faulty line of its
/// body, shows the SCIM error sent back and its fix's `code`, and links to `/check?from=`, which
/// opens with that body and the same fault for an admin, and with nothing stored for a visitor.
#[tokio::test]
async fn a_failure_opens_in_the_checker_with_its_payload_and_verdict() {
    let (app, b) = logged_in().await;
    app.db.write(|c| accounts::add(c, "ACC1", "Acme", None, "2026-01-01T00:00:00.000Z")).await.expect("registry");
    let body = json!({"userName": "typo", "accounts": ["{\"acountId\":\"ACC1\"}"]});
    app.post("/Users", &body).await.assert_error(400, Some("invalidValue"));
    let list = eventually(&b, "/journal?outcome=failed", "/check?from=").await;
    assert!(list.contains("<code>scimbox account list</code>") && !list.contains("`accounts`"), "{list}");
    let href = first_link(&list, "/check?from=");
    let seq = href.trim_start_matches("/check?from=").to_owned();
    let entry = b.get(&format!("/journal/{seq}")).await;
    let html = entry.assert_ok();
    assert!(html.contains(&format!(r#"href="/check?from={seq}""#)), "the fix links to the checker: {html}");
    assert!(html.contains("<code>accounts</code>"), "backticks become code: {html}");
    let marked: Vec<&str> = html.match_indices(r#"<span class="line bad""#).map(|(i, _)| &html[i..i + 80]).collect();
    assert_eq!(marked.len(), 1, "one faulty line: {html}");
    assert!(marked[0].contains("acountId"), "{marked:?}");
    let sent = part(html, "sent");
    assert!(sent.contains("urn:ietf:params:scim:api:messages:2.0:Error") && sent.contains("invalidValue"), "{sent}");
    assert!(sent.contains("did you mean"), "{sent}");

    let check = b.get(&href).await;
    let page = check.assert_ok();
    assert!(page.contains("&#34;userName&#34;: &#34;typo&#34;"), "the textarea holds the stored body: {page}");
    let verdict = part(page, "verdict");
    assert!(verdict.contains("1 fault") && verdict.contains("invalidValue"), "{verdict}");
    assert!(verdict.contains("did you mean &#34;accountId&#34;?"), "the journal's reason: {verdict}");
    assert!(html.contains("did you mean &#34;accountId&#34;?"), "{html}");

    let anon = Browser::new(&app).get(&href).await;
    assert!(!anon.assert_ok().contains("typo") && anon.html.contains("log in"), "{}", anon.html);
    assert_eq!(b.get("/check?from=999999").await.status, StatusCode::NOT_FOUND);
    assert_eq!(b.get("/check?from=abc").await.status, StatusCode::NOT_FOUND);
}

/// Issue 16, trends: the overview draws each connection's requests and failures per hour (24
/// hours) and per day (7 days) as inline SVG with a title, a text summary and a tooltip per
/// bar, the requests without a valid token as a series of their own; `?refresh=` reloads it.
#[tokio::test]
async fn overview_draws_trends_per_connection_and_can_refresh_itself() {
    let (app, b) = logged_in().await;
    let quiet = b.get("/").await;
    assert!(part(quiet.assert_ok(), "trends").contains("No request in the last 7 days"), "{}", quiet.html);
    app.create_user(&user("ann@example.com")).await;
    app.create_user(&user("ben@example.com")).await;
    app.post("/Users", &json!({"userName": 5})).await.assert_error(400, Some("invalidValue"));
    let anon = reqwest::Client::new().get(format!("{}/scim/v2/Users", app.origin)).send().await.expect("request");
    assert_eq!(anon.status(), StatusCode::UNAUTHORIZED);
    let home = eventually(&b, "/", "Requests without a valid token").await;
    let svg = |id: &str| {
        let p = part(&home, id);
        p[..p.find("</figure>").unwrap_or(p.len())].to_owned()
    };
    let hourly = svg("trend-h-0");
    assert!(hourly.contains(r#"role="img" aria-labelledby="trend-h-0-title trend-h-0-sum""#), "{hourly}");
    assert!(hourly.contains("test: requests and failures per hour, last 24 hours</title>"), "{hourly}");
    assert_eq!(hourly.matches("<rect class=\"ok\"").count(), 24, "one bar an hour: {hourly}");
    assert!(hourly.contains(" UTC: 3 requests, 1 failed</title>"), "the current hour's bar: {hourly}");
    assert!(hourly.contains("<strong>3</strong> requests, <strong class=\"bad-text\">1 failed</strong>"), "{hourly}");
    assert!(hourly.contains("<time datetime=") && hourly.contains("data-local"), "{hourly}");
    let daily = svg("trend-d-0");
    assert_eq!(daily.matches("<rect class=\"bad\"").count(), 7, "one bar a day: {daily}");
    assert!(daily.contains(": 3 requests, 1 failed</title>"), "{daily}");
    let refused = svg("trend-h-1");
    assert!(refused.contains("<strong>1</strong> request, <strong class=\"bad-text\">1 failed</strong>"), "{refused}");
    assert!(home.contains("/static/time.js?v="), "local times");
    assert!(!home.contains("http-equiv=\"refresh\"") && home.contains(r#"<a href="/?refresh=30">"#));
    let live = b.get("/?refresh=30").await;
    assert!(live.assert_ok().contains(r#"<meta http-equiv="refresh" content="30">"#), "{}", live.html);
    assert!(live.html.contains("reloads every 30 s") && live.html.contains(">Stop refreshing</a>"));
    let bad = b.get("/?refresh=2").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.html);
    assert!(bad.html.contains("seconds from 5 to 3600"), "{}", bad.html);
    assert_eq!(b.get("/?refresh=soon").await.status, StatusCode::BAD_REQUEST);
}

/// The userNames of a users list, in order.
fn listed_users(html: &str) -> Vec<String> {
    let needle = r#"<th scope="row"><a href="/users/"#;
    html.match_indices(needle)
        .filter_map(|(i, _)| html[i + needle.len()..].split_once("\">").and_then(|(_, rest)| rest.split_once("</a>")))
        .map(|(name, _)| name.to_owned())
        .collect()
}

/// Issue 16, users and accounts: the users list is filtered by account (granted on it or on an
/// account above it, each row saying which) and by the connection of the user's last write in
/// the journal, sorted by a column server-side; the accounts page's counts link to the list.
#[tokio::test]
async fn users_filter_by_account_and_connection_and_sort() {
    let (app, b) = logged_in().await;
    app.db
        .write(|c| {
            accounts::add(c, "ACME", "Acme", None, "2026-01-01T00:00:00.000Z")?;
            accounts::add(c, "ACME-EU", "Acme Europe", Some("ACME"), "2026-01-01T00:00:00.000Z")?;
            accounts::add(c, "GLOBEX", "Globex", None, "2026-01-01T00:00:00.000Z")
        })
        .await
        .expect("registry");
    let grant =
        |name: &str, account: &str| json!({"userName": name, "accounts": [format!("{{\"accountId\":\"{account}\"}}")]});
    app.create_user(&grant("cy", "ACME")).await;
    app.create_user(&grant("ann", "ACME-EU")).await;
    app.create_user(&json!({"userName": "bo", "active": false, "accounts": ["{\"accountId\":\"GLOBEX\"}"]})).await;
    let dan = app.create_user(&json!({"userName": "dan", "active": false})).await;
    // A second connection creates one user and then takes over dan with a PATCH.
    let okta = scimbox::auth::generate();
    let hash = scimbox::auth::hash(&okta);
    let now = scimbox::stamp::timestamp(scimbox::clock::now());
    app.db.write(move |c| scimbox::db::tokens::insert(c, "okta", &hash, &now, None)).await.expect("token");
    let as_okta = |method: reqwest::Method, path: String, body: serde_json::Value| {
        reqwest::Client::new()
            .request(method, format!("{}{path}", app.base))
            .header("Authorization", format!("Bearer {okta}"))
            .header("Content-Type", "application/scim+json")
            .body(body.to_string())
            .send()
    };
    let made = as_okta(reqwest::Method::POST, "/Users".into(), grant("eve", "ACME")).await.expect("post");
    assert_eq!(made.status(), StatusCode::CREATED);
    let patch = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "value": {"active": true}}]});
    let id = dan["id"].as_str().expect("id");
    let patched = as_okta(reqwest::Method::PATCH, format!("/Users/{id}"), patch).await.expect("patch");
    assert_eq!(patched.status(), StatusCode::OK);

    let eu = b.get("/users?account=ACME-EU").await;
    assert_eq!(listed_users(eu.assert_ok()), ["cy", "ann", "eve"], "granted on ACME-EU or on ACME above it");
    assert!(eu.html.contains(r#"<span class="badge inherit">via ACME</span>"#) && eu.html.contains(">direct</span>"));
    assert!(eu.html.contains("3 users") && eu.html.contains("with access to"), "{}", eu.html);
    assert_eq!(
        listed_users(&b.get("/users?account=ACME").await.html),
        ["cy", "eve"],
        "a grant below does not reach up"
    );
    let missing = b.get("/users?account=NOPE").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert!(missing.html.contains("No account NOPE is registered"), "{}", missing.html);

    let by_okta = eventually(&b, "/users?connection=okta", "2 users").await;
    assert_eq!(listed_users(&by_okta), ["dan", "eve"], "dan's last write came through okta");
    let by_test = b.get("/users?connection=test&sort=-userName").await;
    assert_eq!(listed_users(by_test.assert_ok()), ["cy", "bo", "ann"]);

    let sorted = b.get("/users?sort=userName").await;
    assert_eq!(listed_users(sorted.assert_ok()), ["ann", "bo", "cy", "dan", "eve"]);
    assert!(
        sorted
            .html
            .contains(r#"aria-sort="ascending"><a class="sort" id="sort-userName" href="/users?sort=-userName""#),
        "{}",
        sorted.html
    );
    let desc = b.get("/users?sort=-userName&account=ACME").await;
    assert_eq!(listed_users(&desc.html), ["eve", "cy"]);
    assert!(desc.html.contains(r#"href="/users?account=ACME&#38;sort=userName""#), "the filters stay: {}", desc.html);
    assert_eq!(
        listed_users(&b.get("/users?sort=status").await.html),
        ["bo", "ann", "cy", "dan", "eve"],
        "inactive first"
    );
    let bad = b.get("/users?sort=email").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad.html.contains("use userName, status or changed"), "{}", bad.html);

    let accounts_page = b.get("/accounts").await;
    assert!(
        accounts_page.assert_ok().contains(r#"<a class="count" href="/users?account=ACME-EU""#),
        "{}",
        accounts_page.html
    );
}

/// Issue 16: a group's history names its members instead of showing their ids, linked to their
/// pages (a user, a nested group); a member deleted since shows its id, unlinked.
#[tokio::test]
async fn group_history_names_members_and_links_them() {
    let (app, b) = logged_in().await;
    let ann = app.create_user(&user("ann@example.com")).await["id"].as_str().expect("id").to_owned();
    let gone = app.create_user(&user("gone@example.com")).await["id"].as_str().expect("id").to_owned();
    let inner = app.post("/Groups", &json!({"displayName": "Inner <team>"})).await;
    let inner = inner.body["id"].as_str().expect("id").to_owned();
    let group = app.post("/Groups", &json!({"displayName": "Ops", "members": [{"value": ann}]})).await;
    let id = group.body["id"].as_str().expect("id").to_owned();
    let patch = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "add", "path": "members", "value": [{"value": inner}, {"value": gone}]}]});
    assert_eq!(app.patch(&format!("/Groups/{id}"), &patch).await.status, StatusCode::OK);
    assert_eq!(app.delete(&format!("/Users/{gone}")).await.status, StatusCode::NO_CONTENT);
    let page = b.get(&format!("/groups/{id}")).await;
    let html = page.assert_ok();
    let history = &html[html.find(r#"id="changes""#).expect("a history")..];
    assert!(history.contains(&format!(r#"<a href="/users/{ann}">ann@example.com</a>"#)), "{history}");
    assert!(history.contains(&format!(r#"<a href="/groups/{inner}">Inner &#60;team&#62;</a>"#)), "{history}");
    assert!(history.contains(&format!("<code>{gone}</code>")), "a deleted member keeps its id: {history}");
    assert!(!history.contains(&format!(">{ann}<")), "no bare id of a known member: {history}");
}

/// The `<tr>` of `/webhooks` whose endpoint is `name`.
fn webhook_row<'a>(html: &'a str, name: &str) -> &'a str {
    let start = html.find(&format!("<span class=\"hook-name\">{name}</span>")).unwrap_or_else(|| panic!("no {name}"));
    let rest = &html[start..];
    &rest[..rest.find("</tr>").unwrap_or(rest.len())]
}

#[tokio::test]
async fn webhooks_page_shows_delivery_and_replays_after_a_confirmation() {
    use scimbox::service::webhooks;
    let (app, b) = logged_in().await;
    let empty = b.get("/webhooks").await;
    assert!(empty.assert_ok().contains(r#"id="webhooks-none""#), "{}", empty.html);
    assert!(empty.html.contains(r#"<a href="/webhooks" aria-current="page">Webhooks</a>"#), "in the navigation");
    app.create_user(&user("ann@example.com")).await;
    webhooks::add(&app.db, "billing", "http://127.0.0.1:9/hook", Some("user.*")).await.expect("add");
    webhooks::add(&app.db, "groups-only", "http://127.0.0.1:9/g", Some("group.*")).await.expect("add");
    app.create_user(&user("ben@example.com")).await;
    app.create_user(&user("cy@example.com")).await;
    // The delivering worker is not running in this server: a failed attempt, as it records one.
    let id = webhooks::endpoint_ids(&app.db).await.expect("ids")[0];
    let hook = webhooks::endpoint(&app.db, id).await.expect("read").expect("billing");
    webhooks::failed(&app.db, &hook, "connection refused (os error 111)", 1.0).await.expect("failed");

    let page = b.get("/webhooks").await;
    let billing = webhook_row(page.assert_ok(), "billing");
    assert!(billing.contains(">retrying</span>") && billing.contains("1 failed attempt"), "{billing}");
    assert!(billing.contains("<strong>2</strong> events behind, oldest <time"), "lag and its age: {billing}");
    assert!(billing.contains("connection refused (os error 111)"), "last error: {billing}");
    assert!(billing.contains("http://127.0.0.1:9/hook") && billing.contains("<code>user.*</code>"), "{billing}");
    assert!(billing.contains("nothing delivered yet"), "{billing}");
    assert!(billing.contains("data-label=\"Next attempt\" class=\"next\"><time"), "{billing}");
    let groups = webhook_row(&page.html, "groups-only");
    assert!(groups.contains(">ok</span>") && groups.contains("up to date"), "{groups}");
    assert!(page.html.contains("1 endpoint cannot deliver right now"), "{}", page.html);
    let cursor = |name: &'static str| {
        let db = app.db.clone();
        async move {
            let all = webhooks::list(&db).await.expect("list");
            all.into_iter().find(|s| s.name == name).map(|s| (s.cursor, s.attempts)).expect("listed")
        }
    };
    let before = cursor("billing").await;
    assert!(before.0 > 0 && before.1 == 1, "{before:?}");

    // CSRF first, then the confirmation step: nothing is replayed until the box is ticked.
    assert_eq!(b.post("/webhooks/billing/replay", &[("from", "1")]).await.status, StatusCode::FORBIDDEN);
    let csrf = csrf_of(&page.html);
    let asked = b.post("/webhooks/billing/replay", &[("csrf", &csrf), ("from", "1")]).await;
    let confirm = part(asked.assert_ok(), "replay-confirm");
    assert!(confirm.contains(r#"name="confirm" value="yes" required"#) && confirm.contains(r#"name="from" value="1""#));
    assert!(asked.html.contains("every kept event from 1 on again"), "{}", asked.html);
    let unticked = b.post("/webhooks/billing/replay", &[("csrf", &csrf), ("from", "1"), ("confirm", "")]).await;
    assert!(unticked.assert_ok().contains(r#"id="replay-confirm""#));
    assert_eq!(cursor("billing").await, before, "asking replayed nothing");

    // Wrong input: a clear page each, nothing done.
    let bad = b.post("/webhooks/billing/replay", &[("csrf", &csrf), ("from", "soon"), ("confirm", "yes")]).await;
    assert!(bad.status == StatusCode::BAD_REQUEST && bad.html.contains("is not an event seq"), "{}", bad.html);
    let beyond = b.post("/webhooks/billing/replay", &[("csrf", &csrf), ("from", "9999"), ("confirm", "yes")]).await;
    assert!(
        beyond.status == StatusCode::BAD_REQUEST && beyond.html.contains("beyond the newest event"),
        "{}",
        beyond.html
    );
    let unknown = b.post("/webhooks/nope/replay", &[("csrf", &csrf), ("from", "1")]).await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    let unknown = b.post("/webhooks/nope/replay", &[("csrf", &csrf), ("from", "1"), ("confirm", "yes")]).await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert_eq!(cursor("billing").await, before);

    let done = b.post("/webhooks/billing/replay", &[("csrf", &csrf), ("from", "1"), ("confirm", "yes")]).await;
    assert_eq!((done.status, done.location()), (StatusCode::SEE_OTHER, "/webhooks?replayed=billing&from=1"));
    assert_eq!(cursor("billing").await, (0, 0), "the same operation as `webhook replay --from 1`");
    let after = b.get(done.location()).await;
    assert!(after.assert_ok().contains(r#"id="notice""#) && after.html.contains("delivers again from event 1"));
    let billing = webhook_row(&after.html, "billing");
    assert!(billing.contains(">ok</span>") && billing.contains("<strong>3</strong> events behind"), "{billing}");
    let forged = b.get("/webhooks?replayed=everything&from=1").await;
    assert!(!forged.html.contains(r#"id="notice""#), "only a real endpoint is announced");
}

#[tokio::test]
async fn overview_counts_each_connections_rate_limit_refusals() {
    let app = TestApp::spawn_with(|mut c| {
        (c.rate, c.burst) = (1, 2);
        c
    })
    .await;
    add_alice(&app).await;
    let mut b = Browser::new(&app);
    b.login("alice", PASSWORD).await;
    let mut refused = 0;
    for _ in 0..6 {
        if app.get("/Users").await.status == StatusCode::TOO_MANY_REQUESTS {
            refused += 1;
        }
    }
    assert!(refused >= 2, "the limit refused {refused}");
    let home = eventually(&b, "/", "class=\"n limited\" data-label=\"Rate-limited\"><strong").await;
    let row = part(&home, "connections");
    assert!(row.contains(">Rate-limited</abbr></th>"), "{row}");
    assert!(
        row.contains("data-label=\"Rate-limited\"><strong class=\"bad-text\" title=\"Refused 429 by --rate"),
        "{row}"
    );
    let shown: u64 = row
        .split("data-label=\"Rate-limited\"><strong")
        .nth(1)
        .and_then(|s| s.split('>').nth(1))
        .and_then(|s| s.split('<').next())
        .and_then(|n| n.parse().ok())
        .expect("a count");
    assert_eq!(shown, refused, "{row}");
}
