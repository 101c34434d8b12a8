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
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

use crate::db::{Db, StoreError, accounts, admins, tokens};
use crate::{admin, auth, clock};

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
/// random password, in one write. Meant for a fresh database: a name already taken fails.
pub async fn seed(db: &Db) -> Result<Credentials, StoreError> {
    let password = random_password();
    let pw = password.clone();
    let hash = tokio::task::spawn_blocking(move || admin::hash_password(&pw))
        .await
        .map_err(|e| StoreError::Internal(format!("hashing the password: {e}")))?
        .map_err(StoreError::Internal)?;
    let creds = Credentials {
        token: auth::generate(),
        okta_token: auth::generate(),
        entra_token: auth::generate(),
        admin: ADMIN.to_owned(),
        password,
    };
    let secrets = [
        (DEMO_TOKEN, auth::hash(&creds.token)),
        (OKTA_TOKEN, auth::hash(&creds.okta_token)),
        (ENTRA_TOKEN, auth::hash(&creds.entra_token)),
    ];
    db.write(move |c| {
        let now = clock::now_stamp();
        for (id, name, parent) in ACCOUNTS {
            accounts::add(c, id, name, parent, &now)?;
        }
        for role in ROLES {
            accounts::add_role(c, role, &now)?;
        }
        for (name, hash) in &secrets {
            tokens::insert(c, name, hash, &now, None)?;
        }
        admins::insert(c, ADMIN, &hash, &now)
    })
    .await?;
    Ok(creds)
}

/// 18 random bytes as 24 URL-safe characters: long enough for [`admin::check_new_password`].
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

/// The server to talk to: a loopback socket address and the base path.
#[derive(Debug, Clone)]
struct Target {
    addr: SocketAddr,
    host: String,
    base_path: String,
}

impl Target {
    fn parse(base: &str) -> Result<Self, String> {
        let uri: http::Uri = base.parse().map_err(|e| format!("\"{base}\" is not a URL: {e}"))?;
        if uri.scheme_str() != Some("http") {
            return Err(format!("the simulated IdPs speak plain http to a loopback address, not \"{base}\""));
        }
        let host = uri.host().unwrap_or_default();
        let ip: IpAddr = if host.eq_ignore_ascii_case("localhost") {
            IpAddr::V4(Ipv4Addr::LOCALHOST)
        } else {
            host.trim_start_matches('[')
                .trim_end_matches(']')
                .parse()
                .map_err(|_| format!("the simulated IdPs only talk to a loopback address, not \"{host}\""))?
        };
        if !ip.is_loopback() {
            return Err(format!("the simulated IdPs only talk to a loopback address, not {ip}"));
        }
        let port = uri.port_u16().unwrap_or(80);
        let authority = uri.authority().map_or_else(|| format!("{host}:{port}"), |a| a.as_str().to_owned());
        Ok(Target {
            addr: SocketAddr::new(ip, port),
            host: authority,
            base_path: uri.path().trim_end_matches('/').to_owned(),
        })
    }
}

/// An answer, read whole.
#[derive(Debug)]
struct Reply {
    status: u16,
    body: Value,
}

/// One simulated IdP's HTTP connection and manners.
struct Client {
    idp: Idp,
    target: Target,
    auth: String,
    user_agent: Option<&'static str>,
    content_type: &'static str,
    pace: Duration,
    conn: Option<BufReader<TcpStream>>,
    observe: Observer,
    report: Report,
}

/// How long one request may take before the simulation gives up on the server.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(20);

impl Client {
    /// Waits the IdP's pace (with some jitter), sends one request and reads the answer.
    async fn send(
        &mut self,
        method: &'static str,
        path: &str,
        body: Option<&Value>,
        what: &str,
    ) -> Result<Reply, String> {
        let jitter = rand::rng().random_range(0.6..1.4);
        tokio::time::sleep(self.pace.mul_f64(jitter)).await;
        let request = self.request_bytes(method, path, body);
        let reply = match tokio::time::timeout(REQUEST_TIMEOUT, self.exchange(&request)).await {
            Ok(Ok(reply)) => reply,
            Ok(Err(e)) => return Err(format!("{}: {method} {path}: {e}", self.idp.name())),
            Err(_) => {
                self.conn = None;
                return Err(format!("{}: {method} {path}: no answer within {REQUEST_TIMEOUT:?}", self.idp.name()));
            }
        };
        self.report.requests += 1;
        *self.report.statuses.entry(reply.status).or_default() += 1;
        let detail = (reply.status >= 400).then(|| reply.body["detail"].as_str().unwrap_or_default().to_owned());
        let event =
            Event { idp: self.idp, method, path: path.to_owned(), status: reply.status, what: what.to_owned(), detail };
        (self.observe)(&event);
        Ok(reply)
    }

    fn request_bytes(&self, method: &str, path: &str, body: Option<&Value>) -> Vec<u8> {
        let mut head = format!(
            "{method} {}{path} HTTP/1.1\r\nHost: {}\r\nAuthorization: {}\r\nAccept: application/scim+json\r\n",
            self.target.base_path, self.target.host, self.auth
        );
        if let Some(ua) = self.user_agent {
            head.push_str(&format!("User-Agent: {ua}\r\nAccept-Charset: utf-8\r\n"));
        }
        let body = body.map(Value::to_string).unwrap_or_default();
        if !body.is_empty() {
            head.push_str(&format!("Content-Type: {}\r\nContent-Length: {}\r\n", self.content_type, body.len()));
        }
        head.push_str("\r\n");
        let mut bytes = head.into_bytes();
        bytes.extend_from_slice(body.as_bytes());
        bytes
    }

    /// Sends on the kept-alive connection; if that connection turns out to be closed before
    /// any answer arrived, once more on a new one.
    async fn exchange(&mut self, request: &[u8]) -> Result<Reply, String> {
        if let Some(mut conn) = self.conn.take() {
            match round_trip(&mut conn, request).await {
                Ok((reply, keep)) => {
                    if keep {
                        self.conn = Some(conn);
                    }
                    return Ok(reply);
                }
                Err(Failure::Stale) => {}
                Err(Failure::Broken(e)) => return Err(e),
            }
        }
        let stream = TcpStream::connect(self.target.addr)
            .await
            .map_err(|e| format!("cannot connect to {}: {e}", self.target.addr))?;
        let _ = stream.set_nodelay(true);
        let mut conn = BufReader::new(stream);
        match round_trip(&mut conn, request).await {
            Ok((reply, keep)) => {
                if keep {
                    self.conn = Some(conn);
                }
                Ok(reply)
            }
            Err(Failure::Stale) => Err("the server closed the connection without answering".into()),
            Err(Failure::Broken(e)) => Err(e),
        }
    }

    async fn get(&mut self, path: &str, what: &str) -> Result<Reply, String> {
        self.send("GET", path, None, what).await
    }
    async fn post(&mut self, path: &str, body: &Value, what: &str) -> Result<Reply, String> {
        self.send("POST", path, Some(body), what).await
    }
    async fn put(&mut self, path: &str, body: &Value, what: &str) -> Result<Reply, String> {
        self.send("PUT", path, Some(body), what).await
    }
    async fn patch(&mut self, path: &str, ops: Value, what: &str) -> Result<Reply, String> {
        self.send("PATCH", path, Some(&json!({"schemas": [PATCH_URN], "Operations": ops})), what).await
    }

    /// POST /Users; the new user's id when it was created.
    async fn create_user(&mut self, body: &Value, what: &str) -> Result<Option<String>, String> {
        let r = self.post("/Users", body, what).await?;
        if r.status == 201 {
            self.report.users_created += 1;
        }
        Ok(id_if(&r, 201))
    }
}

/// Why an exchange failed: `Stale` when nothing at all came back (a kept-alive connection the
/// server had closed), so the request may be sent again on a new connection.
enum Failure {
    Stale,
    Broken(String),
}

/// Writes `request` and reads one answer; also says whether the connection may be reused.
async fn round_trip(conn: &mut BufReader<TcpStream>, request: &[u8]) -> Result<(Reply, bool), Failure> {
    if conn.get_mut().write_all(request).await.is_err() {
        return Err(Failure::Stale);
    }
    let mut status_line = String::new();
    match conn.read_line(&mut status_line).await {
        Ok(0) | Err(_) => return Err(Failure::Stale),
        Ok(_) => {}
    }
    read_response(conn, &status_line).await.map_err(Failure::Broken)
}

/// Reads the rest of an HTTP/1.1 response after its status line.
async fn read_response<R: tokio::io::AsyncBufRead + Unpin>(
    conn: &mut R,
    status_line: &str,
) -> Result<(Reply, bool), String> {
    let bad = |what: &str| format!("malformed response ({what})");
    let mut parts = status_line.split_whitespace();
    let version = parts.next().ok_or_else(|| bad("no status line"))?;
    let status: u16 = parts.next().and_then(|s| s.parse().ok()).ok_or_else(|| bad("no status"))?;
    let (mut length, mut chunked, mut keep) = (None, false, version == "HTTP/1.1");
    loop {
        let mut line = String::new();
        if conn.read_line(&mut line).await.map_err(|e| e.to_string())? == 0 {
            return Err(bad("headers cut short"));
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        let Some((name, value)) = line.split_once(':') else { return Err(bad("header line")) };
        let value = value.trim();
        if name.eq_ignore_ascii_case("content-length") {
            length = Some(value.parse::<usize>().map_err(|_| bad("Content-Length"))?);
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            chunked = value.to_ascii_lowercase().contains("chunked");
        } else if name.eq_ignore_ascii_case("connection") {
            keep = !value.eq_ignore_ascii_case("close");
        }
    }
    let mut body = Vec::new();
    if status == 204 || status == 304 || (100..200).contains(&status) {
    } else if chunked {
        loop {
            let mut size = String::new();
            conn.read_line(&mut size).await.map_err(|e| e.to_string())?;
            let size = size.trim().split(';').next().unwrap_or("");
            let size = usize::from_str_radix(size, 16).map_err(|_| bad("chunk size"))?;
            if size == 0 {
                // Trailers, up to the empty line.
                loop {
                    let mut line = String::new();
                    if conn.read_line(&mut line).await.map_err(|e| e.to_string())? == 0 || line.trim().is_empty() {
                        break;
                    }
                }
                break;
            }
            let start = body.len();
            body.resize(start + size, 0);
            conn.read_exact(&mut body[start..]).await.map_err(|e| e.to_string())?;
            let mut crlf = [0u8; 2];
            conn.read_exact(&mut crlf).await.map_err(|e| e.to_string())?;
        }
    } else if let Some(n) = length {
        body.resize(n, 0);
        conn.read_exact(&mut body).await.map_err(|e| e.to_string())?;
    } else {
        conn.read_to_end(&mut body).await.map_err(|e| e.to_string())?;
        keep = false;
    }
    let body = serde_json::from_slice(&body).unwrap_or(Value::Null);
    Ok((Reply { status, body }, keep))
}

fn id_if(r: &Reply, status: u16) -> Option<String> {
    (r.status == status).then(|| r.body["id"].as_str().map(str::to_owned)).flatten()
}

fn first_id(r: &Reply) -> Option<String> {
    (r.status == 200).then(|| r.body["Resources"][0]["id"].as_str().map(str::to_owned)).flatten()
}

// ------------------------------------------------------------------------------------ people

const GIVEN: [&str; 16] = [
    "Ada",
    "Grace",
    "Alan",
    "Katherine",
    "Linus",
    "Margaret",
    "Dennis",
    "Barbara",
    "Ken",
    "Frances",
    "Edsger",
    "Radia",
    "Donald",
    "Hedy",
    "Tim",
    "Annie",
];
const FAMILY: [&str; 15] = [
    "Lovelace",
    "Hopper",
    "Turing",
    "Johnson",
    "Torvalds",
    "Hamilton",
    "Ritchie",
    "Liskov",
    "Thompson",
    "Allen",
    "Dijkstra",
    "Perlman",
    "Knuth",
    "Lamarr",
    "Berners-Lee",
];
const TITLES: [&str; 5] = ["Engineer", "Analyst", "Designer", "Product Manager", "Accountant"];
const DEPARTMENTS: [&str; 4] = ["Research", "Sales", "Finance", "Operations"];

/// The `n`th sample person: distinct names for the first 240 (16 and 15 are coprime), then the
/// same names with a number.
struct Person {
    given: &'static str,
    family: &'static str,
    handle: String,
}

fn person(n: u64) -> Person {
    let (given, family) = (GIVEN[(n % 16) as usize], FAMILY[(n % 15) as usize]);
    let round = n / 240;
    let base = format!("{}.{}", given.to_lowercase(), family.to_lowercase().replace('-', ""));
    let handle = if round == 0 { base } else { format!("{base}{}", round + 1) };
    Person { given, family, handle }
}

/// An Okta user id: `00u` and 17 random letters and digits.
fn okta_id() -> String {
    const ALNUM: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let mut rng = rand::rng();
    let tail: String = (0..17).map(|_| ALNUM[rng.random_range(0..ALNUM.len())] as char).collect();
    format!("00u{tail}")
}

fn guid() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// Percent-encodes a query value (everything but unreserved characters).
fn enc(s: &str) -> String {
    const SET: &percent_encoding::AsciiSet =
        &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');
    percent_encoding::utf8_percent_encode(s, SET).to_string()
}

// ------------------------------------------------------------------------------------ Okta

/// Okta's `accounts` for the `n`th Acme user: a list of JSON strings (a multi-valued string
/// attribute in Okta's profile).
fn okta_accounts(n: u64) -> Value {
    let payloads: &[&str] = match n % 4 {
        0 => &[r#"{"accountId":"ACME","roles":"Viewer"}"#],
        1 => &[r#"{"accountId":"ACME-EU","roles":["Editor"],"teams":"Payments"}"#],
        2 => &[r#"{"accountId":"ACME-US","roles":"Editor"}"#, r#"{"accountId":"ACME-EU","roles":"Viewer"}"#],
        _ => &[r#"{"accountId":"ACME","roles":"Admin","teams":["Platform","Security"]}"#],
    };
    json!(payloads)
}

/// The body Okta POSTs when a user is assigned (§1.2 #4a).
fn okta_create_body(p: &Person, accounts: Value) -> Value {
    let user_name = format!("{}@acme.example", p.handle);
    json!({
        "schemas": [USER_URN],
        "userName": user_name,
        "name": {"givenName": p.given, "familyName": p.family},
        "emails": [{"primary": true, "value": user_name, "type": "work"}],
        "displayName": format!("{} {}", p.given, p.family),
        "locale": "en-US",
        "externalId": okta_id(),
        "groups": [],
        "password": random_password()[..8].to_owned(),
        "active": true,
        "accounts": accounts
    })
}

/// The pre-create lookup, encoded as Okta encodes it (§1.2 #3).
fn okta_lookup(user_name: &str) -> String {
    format!("/Users?filter=userName%20eq%20%22{}%22&startIndex=1&count=100", enc(user_name))
}

async fn run_okta(mut c: Client, rounds: Option<u64>) -> Result<Report, String> {
    const GROUP: &str = "Acme Engineering";
    // Test API Credentials, then saving "To App" reads both lists (§1.2 #1, #2).
    c.get("/Users?startIndex=1&count=2", "Test API Credentials").await?;
    c.get("/Groups?startIndex=1&count=100", "group cache").await?;
    let mut group: Option<String> = None;
    let mut to_deactivate: Option<(String, String)> = None;
    let mut round = 0u64;
    while rounds.is_none_or(|r| round < r) {
        // Two assignments: lookup, then create (or link what the lookup found).
        let mut assigned = Vec::new();
        for k in 0..2 {
            let n = round * 2 + k;
            let p = person(n * 2);
            let body = okta_create_body(&p, okta_accounts(n));
            let user_name = body["userName"].as_str().unwrap_or_default().to_owned();
            let found = c.get(&okta_lookup(&user_name), &format!("assign {user_name}: lookup")).await?;
            let id = match first_id(&found) {
                Some(id) => Some(id),
                None => c.create_user(&body, &format!("assign {user_name}: create")).await?,
            };
            if let Some(id) = id {
                assigned.push((id, user_name));
            }
        }

        // The one invalid payload: an attribute mapping that misspells accountId.
        if round == 0 {
            let p = Person { given: "Pat", family: "Typo", handle: "pat.typo".into() };
            let body = okta_create_body(&p, json!([r#"{"acountId":"ACME-US","roles":"Editor"}"#]));
            let found = c.get(&okta_lookup("pat.typo@acme.example"), "assign pat.typo@acme.example: lookup").await?;
            if first_id(&found).is_none() {
                c.create_user(&body, "assign pat.typo@acme.example: create (misspelt acountId)").await?;
            }
        }

        // A profile update: GET, then PUT the read-back user with the change merged in (§1.2 #6).
        if let Some((id, user_name)) = assigned.first() {
            let path = format!("/Users/{id}");
            let got = c.get(&path, &format!("update {user_name}: read")).await?;
            if got.status == 200 {
                let mut body = got.body;
                body["title"] = json!(TITLES[(round % TITLES.len() as u64) as usize]);
                body["nickName"] = body["name"]["givenName"].clone();
                c.put(&path, &body, &format!("update {user_name}: title")).await?;
            }
        }

        // Push Groups: created once, then membership updates with the id in the value (§1.2 #10-12).
        if group.is_none() && !assigned.is_empty() {
            let body = json!({"schemas": [GROUP_URN], "displayName": GROUP, "members": []});
            let r = c.post("/Groups", &body, &format!("push group {GROUP}")).await?;
            if r.status == 201 {
                c.report.groups_created += 1;
            }
            group = id_if(&r, 201);
        }
        if let Some(gid) = &group {
            let members: Vec<Value> = assigned.iter().map(|(id, name)| json!({"value": id, "display": name})).collect();
            if !members.is_empty() {
                let ops = json!([
                    {"op": "replace", "value": {"id": gid, "displayName": GROUP}},
                    {"op": "add", "path": "members", "value": members}
                ]);
                c.patch(&format!("/Groups/{gid}"), ops, &format!("push group {GROUP}: add members")).await?;
            }
        }

        // Every other round, an unassignment from the round before: PATCH without a path (§1.2 #7, #9).
        if let Some((id, user_name)) = to_deactivate.take() {
            let ops = json!([{"op": "replace", "value": {"active": false}}]);
            c.patch(&format!("/Users/{id}"), ops, &format!("unassign {user_name}: deactivate")).await?;
        }
        if round.is_multiple_of(2) {
            to_deactivate = assigned.get(1).cloned();
        }

        round += 1;
        c.report.rounds += 1;
        tokio::time::sleep(c.pace * 3).await;
    }
    Ok(c.report)
}

// ------------------------------------------------------------------------------------ Entra

/// Entra's `accounts` for the `n`th Globex user: ONE string holding a JSON array.
fn entra_accounts(n: u64) -> &'static str {
    match n % 3 {
        0 => r#"[{"accountId":"GLOBEX","roles":"Viewer"}]"#,
        1 => r#"[{"accountId":"GLOBEX","roles":["Editor","Viewer"],"teams":"Sales"}]"#,
        _ => r#"[{"accountId":"GLOBEX","roles":"Editor"},{"accountId":"ACME-EU","roles":"Viewer","teams":"Partners"}]"#,
    }
}

/// The user Entra POSTs (§2.2 #4): `meta`, `null`s, `roles: []`, the enterprise object, the
/// accounts string under the scimbox extension's attribute URN.
fn entra_create_body(p: &Person, n: u64) -> Value {
    let upn = format!("{}@globex.example", p.handle);
    json!({
        "schemas": [USER_URN, ENT_URN],
        "externalId": p.handle,
        "userName": upn,
        "active": true,
        "displayName": format!("{} {}", p.given, p.family),
        "emails": [{"primary": true, "type": "work", "value": upn}],
        "meta": {"resourceType": "User"},
        "name": {"formatted": format!("{} {}", p.given, p.family), "familyName": p.family, "givenName": p.given},
        "title": TITLES[(n % TITLES.len() as u64) as usize],
        "preferredLanguage": "en-US",
        "nickName": null,
        "roles": [],
        ENT_URN: {"employeeNumber": format!("{}", 1000 + n), "department": DEPARTMENTS[(n % 4) as usize], "manager": null},
        ENTRA_ACCOUNTS: entra_accounts(n)
    })
}

/// Entra's filter query: `+` for spaces (§2.4 item 7).
fn entra_filter(expr: &str) -> String {
    enc(expr).replace("%20", "+")
}

async fn run_entra(mut c: Client, rounds: Option<u64>) -> Result<Report, String> {
    const GROUP: &str = "Globex Sales";
    // Test Connection: a random GUID matches nobody (§2.2 #1).
    let probe = guid();
    c.get(&format!("/Users?filter={}", entra_filter(&format!("userName eq \"{probe}\""))), "Test Connection").await?;
    let mut group: Option<String> = None;
    let mut to_disable: Option<(String, String)> = None;
    let mut round = 0u64;
    while rounds.is_none_or(|r| round < r) {
        let mut matched = Vec::new();
        for k in 0..2 {
            let n = round * 2 + k;
            let p = person(n * 2 + 1);
            let body = entra_create_body(&p, n);
            let upn = body["userName"].as_str().unwrap_or_default().to_owned();
            let filter = entra_filter(&format!("userName eq \"{upn}\""));
            let found = c.get(&format!("/Users?filter={filter}"), &format!("match {upn}")).await?;
            let id = match first_id(&found) {
                Some(id) => Some(id),
                None => c.create_user(&body, &format!("provision {upn}")).await?,
            };
            if let Some(id) = id {
                matched.push((id, upn, n));
            }
        }

        // A change in the directory: one Replace per attribute (§2.5, without the flag).
        if let Some((id, upn, n)) = matched.first() {
            let ops = json!([
                {"op": "Replace", "path": "title", "value": format!("Senior {}", TITLES[(n % 5) as usize])},
                {"op": "Replace", "path": format!("{ENT_URN}:department"), "value": DEPARTMENTS[((n + 1) % 4) as usize]}
            ]);
            c.patch(&format!("/Users/{id}"), ops, &format!("update {upn}")).await?;
        }

        // The group: found by displayName or created with Microsoft's URN, then members added.
        if group.is_none() {
            let filter = entra_filter(&format!("displayName eq \"{GROUP}\""));
            let found = c.get(&format!("/Groups?excludedAttributes=members&filter={filter}"), "match group").await?;
            group = first_id(&found);
            if group.is_none() {
                let body = json!({
                    "schemas": [GROUP_URN, ADSCIM_GROUP_URN],
                    "externalId": guid(),
                    "displayName": GROUP,
                    "members": []
                });
                let r = c.post("/Groups", &body, &format!("provision group {GROUP}")).await?;
                if r.status == 201 {
                    c.report.groups_created += 1;
                }
                group = id_if(&r, 201);
            }
        }
        if let Some(gid) = &group {
            let members: Vec<Value> = matched.iter().map(|(id, _, _)| json!({"value": id})).collect();
            if !members.is_empty() {
                let ops = json!([{"op": "Add", "path": "members", "value": members}]);
                c.patch(&format!("/Groups/{gid}"), ops, &format!("{GROUP}: add members")).await?;
            }
        }

        // Every other round, someone of the round before left the scope: disabled with "False" (§2.5).
        if let Some((id, upn)) = to_disable.take() {
            let ops = json!([{"op": "Replace", "path": "active", "value": "False"}]);
            c.patch(&format!("/Users/{id}"), ops, &format!("{upn} out of scope: disable")).await?;
        }
        if round.is_multiple_of(2) {
            to_disable = matched.get(1).map(|(id, upn, _)| (id.clone(), upn.clone()));
        }

        round += 1;
        c.report.rounds += 1;
        tokio::time::sleep(c.pace * 3).await;
    }
    Ok(c.report)
}

#[cfg(test)]
mod tests {
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
    async fn reads_sized_chunked_and_empty_answers() {
        let sized = b"Content-Length: 11\r\nConnection: keep-alive\r\n\r\n{\"id\":\"a\"}X".as_slice();
        let mut r = BufReader::new(sized);
        let (reply, keep) = read_response(&mut r, "HTTP/1.1 201 Created\r\n").await.unwrap();
        assert_eq!((reply.status, keep), (201, true));
        assert_eq!(reply.body, Value::Null, "11 bytes include the X: not JSON");

        let chunked = b"Transfer-Encoding: chunked\r\n\r\n4\r\n{\"a\"\r\n3;x=y\r\n:1}\r\n0\r\n\r\n".as_slice();
        let (reply, keep) = read_response(&mut BufReader::new(chunked), "HTTP/1.1 200 OK").await.unwrap();
        assert_eq!((reply.status, keep, reply.body), (200, true, json!({"a": 1})));

        let empty = b"Connection: close\r\n\r\n".as_slice();
        let (reply, keep) = read_response(&mut BufReader::new(empty), "HTTP/1.1 204 No Content").await.unwrap();
        assert_eq!((reply.status, keep, reply.body), (204, false, Value::Null));

        assert!(read_response(&mut BufReader::new(b"".as_slice()), "HTTP/1.1 200 OK").await.is_err());
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
        assert!(random_password().len() >= admin::MIN_PASSWORD);
    }
}
