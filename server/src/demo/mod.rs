//! `scimbox demo`'s parts, as library code so that they can be tested: [`seed`] fills a fresh
//! database with sample accounts, roles, tokens and an administrator, and [`simulate`] plays
//! realistic Okta- and Entra-like provisioning traffic against a running server, over HTTP, so
//! that the status page fills up live.
//!
//! The simulated IdPs speak HTTP/1.1 themselves (a small client over a TCP stream, keep-alive,
//! `Content-Length` and chunked bodies), and only to a loopback address: the demo never sends
//! anything off the machine. Each has its own token, so the compatibility report shows two
//! connections:
//!
//! - **Okta** (the OIN "SCIM 2.0 Test App", idp-behaviour.md §1.2): `User-Agent: Okta SCIM Client
//!   1.0.0`; "Test API Credentials"; a lookup by `userName` filter before each create; creates
//!   with `accounts` as a list of JSON strings, a random `password` and `externalId`; profile
//!   updates as GET then PUT of the whole read-back user; deactivation as a PATCH without `path`;
//!   a group pushed once, then membership PATCHes with the group's `id` inside a path-less value.
//! - **Entra ID** without `?aadOptscim062020` (§2.2): no `User-Agent`; filters with `+` for
//!   spaces; creates with `meta`, `null`s, `roles: []` and the accounts as ONE string holding a
//!   JSON array under `urn:ietf:params:scim:schemas:extension:scimbox:2.0:User:accounts`;
//!   capitalised ops, one `Replace` per attribute; disabling with the string `"False"`; a group
//!   looked up by `displayName`, created with Microsoft's schema URN, members added with `Add`.
//!
//! Exactly one request is meant to fail: on the first round, Okta assigns a user whose `accounts`
//! payload misspells `accountId` as `acountId`, and scimbox refuses it with a 400 that names the
//! line, the column and the fix. Everything else is meant to succeed.
//!
//! Every round adds new users (two per IdP) and is bounded (about twenty requests); the IdPs
//! pause between requests like a provisioning job does (a few requests a second in all,
//! [`Options::speed`] multiplies that).

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use rand::Rng;
use serde_json::{Value, json};
use tokio::net::TcpStream;

use crate::db::Db;
use crate::service::{self, accounts, admins, tokens};

mod client;
mod script;

use self::client::*;
use self::script::*;

/// The token name of the simulated Okta connection.
pub const OKTA_TOKEN: &str = "okta-demo";
/// The token name of the simulated Entra ID connection.
pub const ENTRA_TOKEN: &str = "entra-demo";
/// The token name printed for the person trying the demo.
pub const DEMO_TOKEN: &str = "demo";
/// The administrator the demo creates.
pub const ADMIN: &str = "admin";
/// The User-Agent Okta's provisioning client sends.
pub const OKTA_USER_AGENT: &str = "Okta SCIM Client 1.0.0";

/// The sample accounts: `(id, name, parent)`, parents first.
pub const ACCOUNTS: [(&str, &str, Option<&str>); 4] = [
    ("ACME", "Acme Corp", None),
    ("ACME-EU", "Acme Europe", Some("ACME")),
    ("ACME-US", "Acme Americas", Some("ACME")),
    ("GLOBEX", "Globex Corporation", None),
];
/// The sample roles catalogue.
pub const ROLES: [&str; 3] = ["Admin", "Editor", "Viewer"];

const USER_URN: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const GROUP_URN: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
const ENT_URN: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const PATCH_URN: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const ADSCIM_GROUP_URN: &str = "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group";
const ENTRA_ACCOUNTS: &str = "urn:ietf:params:scim:schemas:extension:scimbox:2.0:User:accounts";

/// What the demo prints for people to use: every secret here is shown once.
#[derive(Debug, Clone)]
pub struct Credentials {
    /// A token named [`DEMO_TOKEN`], for the person's own requests.
    pub token: String,
    /// The simulated Okta connection's token ([`OKTA_TOKEN`]).
    pub okta_token: String,
    /// The simulated Entra connection's token ([`ENTRA_TOKEN`]).
    pub entra_token: String,
    /// The administrator's name ([`ADMIN`]).
    pub admin: String,
    /// The administrator's random password.
    pub password: String,
}

/// Registers the sample accounts ([`ACCOUNTS`]) and roles ([`ROLES`]), issues three tokens
/// ([`DEMO_TOKEN`], [`OKTA_TOKEN`], [`ENTRA_TOKEN`]) and adds the administrator [`ADMIN`] with a
/// random password, through the same services as `scimbox account`, `token` and `admin`.
/// Meant for a fresh database: a name already taken fails.
pub async fn seed(db: &Db) -> Result<Credentials, service::Error> {
    for (id, name, parent) in ACCOUNTS {
        accounts::add(db, id, name, parent).await?;
    }
    for role in ROLES {
        accounts::add_role(db, role).await?;
    }
    let token = tokens::issue(db, DEMO_TOKEN, None).await?.secret;
    let okta_token = tokens::issue(db, OKTA_TOKEN, None).await?.secret;
    let entra_token = tokens::issue(db, ENTRA_TOKEN, None).await?.secret;
    let password = random_password();
    let admin = admins::add(db, ADMIN, &password).await?;
    Ok(Credentials { token, okta_token, entra_token, admin, password })
}

/// 18 random bytes as 24 URL-safe characters: long enough for [`admins::check_new_password`].
fn random_password() -> String {
    use base64::Engine;
    let mut bytes = [0u8; 18];
    rand::rng().fill(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

// ------------------------------------------------------------------------------------ simulation

/// Which simulated IdP sent a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Idp {
    /// The Okta-like connection.
    Okta,
    /// The Entra-like connection.
    Entra,
}

impl Idp {
    /// `okta` or `entra`.
    pub fn name(self) -> &'static str {
        match self {
            Idp::Okta => "okta",
            Idp::Entra => "entra",
        }
    }
}

/// One request the simulator made, for the console.
#[derive(Debug, Clone)]
pub struct Event {
    /// Who sent it.
    pub idp: Idp,
    /// The HTTP method.
    pub method: &'static str,
    /// The path below the SCIM base, with its query.
    pub path: String,
    /// The answer's status.
    pub status: u16,
    /// What the request was for, in a few words.
    pub what: String,
    /// The error's `detail` when the server refused the request.
    pub detail: Option<String>,
}

/// How to run the simulation.
#[derive(Debug, Clone)]
pub struct Options {
    /// The SCIM base URL, such as `http://127.0.0.1:8080/scim/v2`; its host must be a loopback
    /// address (or `localhost`).
    pub base: String,
    /// The Okta connection's token.
    pub okta_token: String,
    /// The Entra connection's token.
    pub entra_token: String,
    /// 1.0 is a human pace (a few requests a second in all); 2.0 twice as fast.
    pub speed: f64,
    /// Stop after this many rounds per IdP; `None` runs until the future is dropped.
    pub rounds: Option<u64>,
}

/// What a simulation did.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// Requests sent.
    pub requests: u64,
    /// Answers by status.
    pub statuses: BTreeMap<u16, u64>,
    /// Users created (201).
    pub users_created: u64,
    /// Groups created (201).
    pub groups_created: u64,
    /// Rounds completed, both IdPs together.
    pub rounds: u64,
}

impl Report {
    fn merge(mut self, other: Report) -> Report {
        self.requests += other.requests;
        for (s, n) in other.statuses {
            *self.statuses.entry(s).or_default() += n;
        }
        self.users_created += other.users_created;
        self.groups_created += other.groups_created;
        self.rounds += other.rounds;
        self
    }

    /// How many answers had this status.
    pub fn count(&self, status: u16) -> u64 {
        self.statuses.get(&status).copied().unwrap_or(0)
    }
}

/// A callback that sees each request as it completes.
pub type Observer = Arc<dyn Fn(&Event) + Send + Sync>;

/// Runs the simulated Okta and Entra connections side by side against `options.base` until
/// `options.rounds` rounds each are done (or forever, until the future is dropped). A request
/// that cannot reach the server ends the simulation with an error; an unexpected status is only
/// reported (in [`Report::statuses`] and to `observe`).
pub async fn simulate(options: Options, observe: Observer) -> Result<Report, String> {
    let target = Target::parse(&options.base)?;
    if !(options.speed.is_finite() && options.speed > 0.0) {
        return Err(format!("the speed must be a positive number, not {}", options.speed));
    }
    let pace = Duration::from_secs_f64(0.6 / options.speed);
    let okta = Client {
        idp: Idp::Okta,
        target: target.clone(),
        auth: format!("Bearer {}", options.okta_token),
        user_agent: Some(OKTA_USER_AGENT),
        content_type: "application/scim+json; charset=utf-8",
        pace,
        conn: None,
        observe: observe.clone(),
        report: Report::default(),
    };
    let entra = Client {
        idp: Idp::Entra,
        auth: format!("Bearer {}", options.entra_token),
        user_agent: None,
        content_type: "application/scim+json",
        observe,
        target,
        pace,
        conn: None,
        report: Report::default(),
    };
    let (a, b) = tokio::try_join!(run_okta(okta, options.rounds), run_entra(entra, options.rounds))?;
    Ok(a.merge(b))
}

#[cfg(test)]
mod tests {
    use http_body_util::Full;
    use hyper::body::Bytes;

    use super::*;

    #[test]
    fn only_loopback_targets() {
        let t = Target::parse("http://127.0.0.1:8080/scim/v2/").expect("loopback");
        assert_eq!(t.addr, "127.0.0.1:8080".parse().unwrap());
        assert_eq!((t.host.as_str(), t.base_path.as_str()), ("127.0.0.1:8080", "/scim/v2"));
        let t = Target::parse("http://[::1]:9000/scim/v2").expect("v6 loopback");
        assert_eq!(t.addr, "[::1]:9000".parse().unwrap());
        assert_eq!(Target::parse("http://localhost:1/x").expect("localhost").addr.ip(), Ipv4Addr::LOCALHOST);
        for bad in ["http://10.0.0.1:80/scim/v2", "http://example.com/scim/v2", "https://127.0.0.1/scim/v2"] {
            assert!(Target::parse(bad).is_err(), "{bad}");
        }
    }

    #[tokio::test]
    async fn reads_json_and_empty_answers() {
        let ok = hyper::Response::builder().status(201).body(Full::new(Bytes::from_static(b"{\"id\":\"a\"}"))).unwrap();
        let reply = read_reply(ok).await.unwrap();
        assert_eq!((reply.status, reply.body), (201, json!({"id": "a"})));
        let empty = hyper::Response::builder().status(204).body(Full::new(Bytes::new())).unwrap();
        let reply = read_reply(empty).await.unwrap();
        assert_eq!((reply.status, reply.body), (204, Value::Null));
        let text = hyper::Response::builder().status(400).body(Full::new(Bytes::from_static(b"Bad Request"))).unwrap();
        assert_eq!(read_reply(text).await.unwrap().body, Value::Null, "not JSON: null, not an error");
    }

    #[tokio::test]
    async fn requests_carry_each_idps_headers() {
        let client = |user_agent| Client {
            idp: Idp::Entra,
            target: Target::parse("http://127.0.0.1:9/scim/v2").unwrap(),
            auth: "Bearer t".into(),
            user_agent,
            content_type: "application/scim+json",
            pace: Duration::ZERO,
            conn: None,
            observe: Arc::new(|_: &Event| {}),
            report: Report::default(),
        };
        let req = client(None).request("POST", "/Users", "{}").unwrap();
        assert_eq!(req.uri(), "/scim/v2/Users");
        assert!(req.headers().get(hyper::header::USER_AGENT).is_none(), "Entra sends no User-Agent");
        assert_eq!(req.headers()[hyper::header::CONTENT_TYPE], "application/scim+json");
        assert_eq!(req.headers()[hyper::header::HOST], "127.0.0.1:9");
        let req = client(Some(OKTA_USER_AGENT)).request("GET", "/Users", "").unwrap();
        assert_eq!(req.headers()[hyper::header::USER_AGENT], OKTA_USER_AGENT);
        assert!(req.headers().get(hyper::header::CONTENT_TYPE).is_none(), "no body, no content type");
    }

    #[test]
    fn people_are_distinct_and_requests_look_like_the_idps() {
        let names: std::collections::BTreeSet<String> = (0..480).map(|n| person(n).handle).collect();
        assert_eq!(names.len(), 480);
        assert_eq!(
            okta_lookup("a.b@acme.example"),
            "/Users?filter=userName%20eq%20%22a.b%40acme.example%22&startIndex=1&count=100"
        );
        assert_eq!(entra_filter("userName eq \"a@b\""), "userName+eq+%22a%40b%22");
        let body = entra_create_body(&person(1), 2);
        assert!(body[ENTRA_ACCOUNTS].is_string());
        let parsed: Value = serde_json::from_str(body[ENTRA_ACCOUNTS].as_str().unwrap()).unwrap();
        assert_eq!(parsed[1]["accountId"], "ACME-EU");
        for n in 0..4 {
            for p in okta_accounts(n).as_array().unwrap() {
                let v: Value = serde_json::from_str(p.as_str().unwrap()).unwrap();
                assert!(ACCOUNTS.iter().any(|a| a.0 == v["accountId"]), "{v}");
            }
        }
        assert!(random_password().len() >= admins::MIN_PASSWORD);
    }
}
