//! Bearer tokens as the CLI (`scimbox token ...`) and the status page (`/tokens`) both handle
//! them: issue, list with a status, one connection's compatibility report, rotate, revoke. Both entry
//! points call these functions, so they cannot disagree on a status word or a name rule.
//!
//! The secrets themselves (generation, hashing, the request-time check) are in [`crate::auth`];
//! storage ([`crate::db::tokens`]) only keeps hashes and is handed the time of each write.

use std::fmt;

use crate::auth;
use crate::clock;
use crate::db::{Db, StoreError, compat, tokens};

use super::{Error, Result};

pub use crate::db::compat::Tally;
pub use crate::db::tokens::TokenInfo;

/// The longest token name accepted, in characters.
pub const MAX_NAME_CHARS: usize = 64;

/// Tokens that stop working sooner than this are flagged (in `token list`, on the tokens page
/// and in the log at start), so there is time to rotate them: the overview's
/// [`SOON_DAYS`](super::status::overview::SOON_DAYS), the same horizon everywhere.
pub const EXPIRY_WARNING: std::time::Duration =
    std::time::Duration::from_secs(super::status::overview::SOON_DAYS as u64 * 86_400);

/// How long the old secret keeps working after a rotation when no overlap is given: a day, so an
/// administrator can update the IdP at leisure without an outage.
pub const DEFAULT_OVERLAP: std::time::Duration = std::time::Duration::from_secs(86_400);

/// Where a token stands at a given moment. One word set for every entry point.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenStatus {
    /// Neither revoked nor past its expiry: requests with it are accepted.
    Active,
    /// Past its expiry (and not revoked).
    Expired,
    /// Revoked by an administrator.
    Revoked,
}

impl TokenStatus {
    /// `active`, `expired` or `revoked`: the word the CLI and the page show.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Expired => "expired",
            Self::Revoked => "revoked",
        }
    }

    /// The status of a stored token at `now` (a stored stamp; stamps compare as text).
    pub fn of(t: &TokenInfo, now: &str) -> Self {
        match (&t.revoked, &t.expires) {
            (Some(_), _) => Self::Revoked,
            (None, Some(exp)) if exp.as_str() <= now => Self::Expired,
            _ => Self::Active,
        }
    }
}

impl fmt::Display for TokenStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Scope {
    /// An IdP's: the SCIM API, reads and writes; not the change feed.
    #[default]
    Scim,
    /// An application's: reads the SCIM API (GET, `.search`) and the change feed
    /// (`/api/v1/events`); any write is refused (403).
    App,
}

impl Scope {
    /// `scim` or `app`, as stored, typed and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Scim => "scim",
            Self::App => "app",
        }
    }

    /// The scope a word names; `Invalid` otherwise.
    pub fn parse(raw: &str) -> Result<Self> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "scim" | "" => Ok(Self::Scim),
            "app" => Ok(Self::App),
            other => Err(Error::invalid(format!(
                "the scope \"{other}\" is not one of scim (an IdP's token, the default) or app (an application's: \
                 reads and the change feed)"
            ))),
        }
    }
}

/// A token as listed: never its secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    /// The connection name it was issued under.
    pub name: String,
    /// Its status when it was listed.
    pub status: TokenStatus,
    /// When it was issued (a stored stamp).
    pub created: String,
    /// When it stops working, if ever.
    pub expires: Option<String>,
    /// When it was revoked, if it was.
    pub revoked: Option<String>,
    /// When a request last used it (recorded at most once a minute).
    pub last_used: Option<String>,
    /// When its current secret was issued by a rotation, if it was.
    pub rotated: Option<String>,
    /// Until when the secret the last rotation replaced is still accepted, while it is.
    pub previous_valid_until: Option<String>,
    /// Active, and expires within [`EXPIRY_WARNING`]: time to rotate it.
    pub expiring_soon: bool,
    /// What it may do.
    pub scope: Scope,
}

/// The moments a listing is judged at: now, and the end of the [`EXPIRY_WARNING`] horizon
/// (stored stamps, which compare as text).
struct At {
    now: String,
    soon: String,
}

impl At {
    fn now() -> Self {
        let now = clock::now();
        Self { now: crate::stamp::timestamp(now), soon: crate::stamp::timestamp(now + EXPIRY_WARNING) }
    }
}

impl Token {
    fn new(t: TokenInfo, at: &At) -> Self {
        let status = TokenStatus::of(&t, &at.now);
        let live = status != TokenStatus::Revoked;
        let previous_valid_until = t.previous_expires.filter(|p| live && p.as_str() > at.now.as_str());
        let expiring_soon =
            status == TokenStatus::Active && t.expires.as_deref().is_some_and(|e| e <= at.soon.as_str());
        Self {
            name: t.name,
            status,
            created: t.created,
            expires: t.expires,
            revoked: t.revoked,
            last_used: t.last_used,
            rotated: t.rotated,
            previous_valid_until,
            expiring_soon,
            scope: if t.scope == "app" { Scope::App } else { Scope::Scim },
        }
    }
}

/// A token just issued: the secret is in this value and nowhere else, ever.
#[derive(Debug, Clone)]
pub struct Issued {
    /// Its name (trimmed).
    pub name: String,
    /// The bearer token to hand to the IdP.
    pub secret: String,
    /// When it stops working, if ever.
    pub expires: Option<String>,
}

/// A token just rotated: the new secret is in this value and nowhere else, ever.
#[derive(Debug, Clone)]
pub struct Rotated {
    /// The token's (the connection's) name, unchanged.
    pub name: String,
    /// The new bearer token to hand to the IdP.
    pub secret: String,
    /// When the new secret stops working, if ever: the lifetime the replaced one was issued
    /// with, counted from now.
    pub expires: Option<String>,
    /// Until when the replaced secret is still accepted: the overlap's end, or the replaced
    /// secret's own expiry if that comes first (a rotation never extends an old secret).
    pub previous_valid_until: String,
    /// Whether the replaced secret had already expired (it stays refused; the rotation revives
    /// the connection with the new secret).
    pub previous_had_expired: bool,
    /// Whether a secret from an earlier rotation was still accepted and stops working now (one
    /// old secret is kept per token, the one this rotation replaced).
    pub dropped_older: bool,
}

/// One connection's compatibility report: the clients that used its token and the departures
/// from the SCIM RFCs scimbox accepted from them.
#[derive(Debug, Clone)]
pub struct Report {
    /// The connection (token) name.
    pub name: String,
    /// The clients seen, by User-Agent (an empty key: none sent), most requests first.
    pub clients: Vec<Tally>,
    /// The clients beyond the [`compat::MAX_CLIENTS`] kept, counted together, if there were any.
    pub other_clients: Option<Tally>,
    /// The departures accepted, by quirk code.
    pub quirks: Vec<Tally>,
}

/// The clients kept per connection before the rest are counted together.
pub const MAX_CLIENTS: usize = compat::MAX_CLIENTS;

/// Every token and every connection's report, for the tokens page.
#[derive(Debug, Clone)]
pub struct Listing {
    /// Every token, newest first.
    pub tokens: Vec<Token>,
    /// One report per distinct token name, in the order the names first appear in `tokens`.
    pub reports: Vec<Report>,
}

/// Checks a token name: trimmed, not empty, at most [`MAX_NAME_CHARS`] characters, no control
/// character (it is shown in lists and logs). Returns it trimmed.
pub fn check_name(raw: &str) -> Result<&str> {
    let name = raw.trim();
    if name.is_empty() {
        return Err(Error::invalid("a token needs a name, such as okta-prod"));
    }
    let len = name.chars().count();
    if len > MAX_NAME_CHARS {
        return Err(Error::invalid(format!("the token name is {len} characters long; the most is {MAX_NAME_CHARS}")));
    }
    if let Some((at, c)) = name.chars().enumerate().find(|(_, c)| c.is_control()) {
        return Err(Error::invalid(format!(
            "the token name contains a control character (U+{:04X}, character {}); use a name such as okta-prod",
            u32::from(c),
            at + 1
        )));
    }
    Ok(name)
}

/// Parses a lifetime such as `90d` (see [`crate::duration::parse`]); empty or `never` is none.
pub fn parse_lifetime(raw: &str) -> Result<Option<std::time::Duration>> {
    match raw.trim() {
        "" | "never" => Ok(None),
        d => crate::duration::parse(d).map(Some).map_err(|e| Error::invalid(format!("expiry: {e}"))),
    }
}

/// Issues a token called `name`, valid for `lifetime` (`90d`, `12h`...; `None`, empty or
/// `never`: until revoked). `Invalid` for a bad name or lifetime, `Conflict` if an active or
/// expired-but-unrevoked token already has the name.
pub async fn issue(db: &Db, name: &str, lifetime: Option<&str>) -> Result<Issued> {
    issue_scoped(db, name, lifetime, Scope::Scim).await
}

/// [`issue`] with a scope: [`Scope::App`] for an application's token.
pub async fn issue_scoped(db: &Db, name: &str, lifetime: Option<&str>, scope: Scope) -> Result<Issued> {
    let name = check_name(name)?.to_owned();
    let lifetime = parse_lifetime(lifetime.unwrap_or(""))?;
    let now = clock::now();
    let expires = lifetime.map(|d| crate::stamp::timestamp(now + d));
    let secret = auth::generate();
    let (hash, created, key, until) =
        (auth::hash(&secret), crate::stamp::timestamp(now), name.clone(), expires.clone());
    db.write(move |c| tokens::insert_scoped(c, &key, &hash, &created, until.as_deref(), scope.as_str())).await?;
    Ok(Issued { name, secret, expires })
}

/// Every token with its status now, newest first.
pub async fn list(db: &Db) -> Result<Vec<Token>> {
    let listed = db.read(tokens::list).await?;
    let at = At::now();
    Ok(listed.into_iter().map(|t| Token::new(t, &at)).collect())
}

/// The active tokens that expire within [`EXPIRY_WARNING`] (the server warns of each at start).
pub async fn expiring(db: &Db) -> Result<Vec<Token>> {
    Ok(list(db).await?.into_iter().filter(|t| t.expiring_soon).collect())
}

/// Parses a rotation overlap such as `24h` ([`crate::duration::parse`]); empty is
/// [`DEFAULT_OVERLAP`].
pub fn parse_overlap(raw: &str) -> Result<std::time::Duration> {
    match raw.trim() {
        "" => Ok(DEFAULT_OVERLAP),
        d => crate::duration::parse(d).map_err(|e| Error::invalid(format!("overlap: {e}"))),
    }
}

/// Rotates the live token called `name`: a new secret replaces its current one, which stays
/// accepted for `overlap` (`24h`, `10m`...; `None` or empty: [`DEFAULT_OVERLAP`]) so the IdP can
/// be updated without an outage. The token keeps its row and so its name: the connection's
/// compatibility report, journal and status page row carry on. The new secret gets the lifetime
/// the old one was issued with. A running server accepts the new secret at once (it looks up
/// every secret it has not seen) and refuses the old one within [`auth::CACHE_TTL`] of the
/// overlap's end, with the same 401 as an expired token.
///
/// `Invalid` for a bad overlap, `Conflict` if the name's token was revoked (a revoked token
/// stays dead: issue a new one), `NotFound` if no token ever had the name.
pub async fn rotate(db: &Db, name: &str, overlap: Option<&str>) -> Result<Rotated> {
    let overlap = parse_overlap(overlap.unwrap_or(""))?;
    let now = clock::now();
    let secret = auth::generate();
    let (hash, key) = (auth::hash(&secret), name.to_owned());
    let done = db
        .write(move |c| {
            let Some(cur) = tokens::current(c, &key)? else {
                return Ok(Err(tokens::last_revoked(c, &key)?));
            };
            let plan = plan_rotation(&cur, now, overlap);
            let rotation = tokens::Rotation {
                hash: &hash,
                expires: plan.expires.as_deref(),
                previous_expires: &plan.previous_valid_until,
                at: &crate::stamp::timestamp(now),
            };
            tokens::rotate(c, &key, &rotation)?;
            Ok(Ok(plan))
        })
        .await?;
    match done {
        Ok(plan) => Ok(Rotated { name: name.to_owned(), secret, ..plan }),
        Err(Some(revoked)) => Err(Error::Conflict(format!(
            "the token \"{name}\" was revoked at {revoked} and cannot be rotated; issue a new one under that name with `scimbox token create`"
        ))),
        Err(None) => Err(Error::NotFound(format!("no token named \"{name}\""))),
    }
}

/// The stamps of a rotation at `now` of the token `cur` (see [`rotate`]). The secret is left
/// empty; the caller fills it in.
fn plan_rotation(cur: &tokens::Current, now: time::OffsetDateTime, overlap: std::time::Duration) -> Rotated {
    let stamp = crate::stamp::timestamp;
    let lifetime = cur.expires.as_deref().map(|e| {
        let (from, to) = (crate::stamp::parse(&cur.issued), crate::stamp::parse(e));
        // A row whose stamps do not parse (never written by scimbox) keeps no lifetime at all
        // rather than an endless one: it expires now, like the stamp says it should have.
        from.zip(to).map_or(time::Duration::ZERO, |(f, t)| t - f)
    });
    let expires = lifetime.map(|l| stamp(now + l));
    let overlap_end = stamp(now + overlap);
    let previous_valid_until = match &cur.expires {
        Some(e) if e.as_str() < overlap_end.as_str() => e.clone(),
        _ => overlap_end,
    };
    let now_s = stamp(now);
    let dropped_older = cur.previous_expires.as_deref().is_some_and(|p| p > now_s.as_str());
    let previous_had_expired = previous_valid_until <= now_s;
    Rotated {
        name: String::new(),
        secret: String::new(),
        expires,
        previous_valid_until,
        previous_had_expired,
        dropped_older,
    }
}

/// Every token and every connection's compatibility report (the tokens page).
pub async fn listing(db: &Db) -> Result<Listing> {
    let (listed, reports) = db
        .read(|c| {
            let listed = tokens::list(c)?;
            let mut seen = std::collections::HashSet::new();
            let mut reports = Vec::new();
            for t in &listed {
                if seen.insert(t.name.clone()) {
                    reports.push(report_of(c, &t.name)?);
                }
            }
            Ok((listed, reports))
        })
        .await?;
    let at = At::now();
    Ok(Listing { tokens: listed.into_iter().map(|t| Token::new(t, &at)).collect(), reports })
}

/// The tokens ever issued under `name` (one active at most, and any revoked before it) and the
/// connection's compatibility report. `NotFound` if no token ever had the name.
pub async fn report(db: &Db, name: &str) -> Result<(Vec<Token>, Report)> {
    let key = name.to_owned();
    let (mine, report) = db
        .read(move |c| {
            let mine: Vec<_> = tokens::list(c)?.into_iter().filter(|t| t.name == key).collect();
            let report = report_of(c, &key)?;
            Ok((mine, report))
        })
        .await?;
    if mine.is_empty() {
        return Err(Error::NotFound(format!("no token named \"{name}\"")));
    }
    let at = At::now();
    Ok((mine.into_iter().map(|t| Token::new(t, &at)).collect(), report))
}

fn report_of(c: &crate::db::sql::Connection, name: &str) -> Result<Report, StoreError> {
    Ok(Report {
        name: name.to_owned(),
        clients: compat::clients(c, name)?,
        other_clients: compat::other_clients(c, name)?,
        quirks: compat::quirks(c, name)?,
    })
}

/// Revokes the token called `name` that is not revoked yet; a running server refuses it within
/// [`auth::CACHE_TTL`]. `NotFound` if there is none.
pub async fn revoke(db: &Db, name: &str) -> Result<()> {
    let (key, now) = (name.to_owned(), clock::now_stamp());
    db.write(move |c| tokens::revoke(c, &key, &now)).await.map_err(|e| match e {
        StoreError::NotFound => Error::NotFound(format!("no active token named \"{name}\"")),
        other => other.into(),
    })
}

/// The status of a stored token at `now` (a stored stamp), for callers that still read storage
/// themselves (the overview, until it has a read model of its own). Prefer [`list`].
pub fn status_of(t: &TokenInfo, now: &str) -> TokenStatus {
    TokenStatus::of(t, now)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(expires: Option<&str>, revoked: Option<&str>) -> TokenInfo {
        TokenInfo {
            name: "t".into(),
            created: "2026-01-01T00:00:00.000Z".into(),
            expires: expires.map(Into::into),
            revoked: revoked.map(Into::into),
            last_used: None,
            rotated: None,
            previous_expires: None,
            scope: "scim".into(),
        }
    }

    #[test]
    fn statuses() {
        let now = "2026-06-01T00:00:00.000Z";
        assert_eq!(status_of(&info(None, None), now), TokenStatus::Active);
        assert_eq!(status_of(&info(Some("2026-05-01T00:00:00.000Z"), None), now), TokenStatus::Expired);
        assert_eq!(status_of(&info(Some(now), None), now), TokenStatus::Expired, "expiry is exclusive");
        assert_eq!(status_of(&info(Some("2027-01-01T00:00:00.000Z"), None), now), TokenStatus::Active);
        assert_eq!(status_of(&info(Some("2026-05-01T00:00:00.000Z"), Some(now)), now), TokenStatus::Revoked);
        let words: Vec<&str> =
            [TokenStatus::Active, TokenStatus::Expired, TokenStatus::Revoked].map(TokenStatus::as_str).to_vec();
        assert_eq!(words, ["active", "expired", "revoked"]);
    }

    #[test]
    fn names() {
        assert_eq!(check_name("  okta-prod \n"), Ok("okta-prod"), "trimmed, surrounding newlines too");
        assert_eq!(check_name(&"é".repeat(MAX_NAME_CHARS)).map(str::len), Ok(2 * MAX_NAME_CHARS));
        for bad in ["", "   ", "okta\u{7}prod", "a\tb", "a\u{1b}[31m", &"x".repeat(MAX_NAME_CHARS + 1)] {
            assert!(matches!(check_name(bad), Err(Error::Invalid(_))), "{bad:?}");
        }
        let msg = check_name("ok\u{7}ta").unwrap_err().to_string();
        assert!(msg.contains("U+0007") && msg.contains("character 3"), "{msg}");
        assert!(!msg.contains(['"', '\'', '<', '&']), "the message reads the same in HTML: {msg}");
    }

    #[test]
    fn lifetimes() {
        assert_eq!(parse_lifetime(""), Ok(None));
        assert_eq!(parse_lifetime(" never "), Ok(None));
        assert_eq!(parse_lifetime("2h"), Ok(Some(std::time::Duration::from_secs(7200))));
        let e = parse_lifetime("soon").unwrap_err();
        assert!(e.to_string().contains("not a duration") && e.exit_code() == 65, "{e}");
    }

    fn store() -> (tempfile::TempDir, Db) {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = Db::open(&dir.path().join("t.db")).expect("open");
        (dir, db)
    }

    #[tokio::test]
    async fn issue_list_report_revoke() {
        let (_dir, db) = store();
        let a = issue(&db, " okta ", Some("30d")).await.expect("issue");
        assert_eq!(a.name, "okta");
        assert!(a.secret.starts_with("scimbox_") && a.expires.is_some());
        let again = issue(&db, "okta", None).await.unwrap_err();
        assert!(matches!(&again, Error::Conflict(m) if m.contains("already exists")), "{again:?}");
        assert!(matches!(issue(&db, "x\u{0}", None).await, Err(Error::Invalid(_))));
        assert!(matches!(issue(&db, "x", Some("0h")).await, Err(Error::Invalid(_))));
        issue(&db, "entra", None).await.expect("issue");
        let listed = list(&db).await.expect("list");
        let names: Vec<(&str, TokenStatus)> = listed.iter().map(|t| (t.name.as_str(), t.status)).collect();
        assert_eq!(names, [("entra", TokenStatus::Active), ("okta", TokenStatus::Active)], "newest first");

        revoke(&db, "okta").await.expect("revoke");
        let gone = revoke(&db, "okta").await.unwrap_err();
        assert_eq!(gone, Error::NotFound("no active token named \"okta\"".into()));
        issue(&db, "okta", None).await.expect("the name is free again");
        let (mine, rep) = report(&db, "okta").await.expect("report");
        let states: Vec<TokenStatus> = mine.iter().map(|t| t.status).collect();
        assert_eq!(states, [TokenStatus::Active, TokenStatus::Revoked]);
        assert!(rep.clients.is_empty() && rep.quirks.is_empty() && rep.other_clients.is_none());
        assert!(matches!(report(&db, "nobody").await, Err(Error::NotFound(m)) if m.contains("nobody")));

        let all = listing(&db).await.expect("listing");
        assert_eq!(all.tokens.len(), 3);
        let reported: Vec<&str> = all.reports.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(reported, ["okta", "entra"], "one report per name");
    }

    #[test]
    fn rotation_plans() {
        let now = time::macros::datetime!(2026-06-01 00:00 UTC);
        let day = std::time::Duration::from_secs(86_400);
        let cur = |issued: &str, expires: Option<&str>, previous: Option<&str>| tokens::Current {
            issued: issued.into(),
            expires: expires.map(Into::into),
            previous_expires: previous.map(Into::into),
        };
        // A 30-day token keeps 30 days; the old secret gets the overlap.
        let p = plan_rotation(&cur("2026-05-20T00:00:00.000Z", Some("2026-06-19T00:00:00.000Z"), None), now, day);
        assert_eq!(p.expires.as_deref(), Some("2026-07-01T00:00:00.000Z"));
        assert_eq!(p.previous_valid_until, "2026-06-02T00:00:00.000Z");
        assert!(!p.dropped_older);
        // An old secret about to expire is not extended by the overlap; a still valid older
        // secret is reported dropped.
        let p = plan_rotation(
            &cur("2026-05-01T00:00:00.000Z", Some("2026-06-01T06:00:00.000Z"), Some("2026-06-01T01:00:00.000Z")),
            now,
            day,
        );
        assert_eq!(p.previous_valid_until, "2026-06-01T06:00:00.000Z");
        assert!(p.dropped_older && !p.previous_had_expired);
        // An expired token gets a new secret; the old one stays dead.
        let p = plan_rotation(&cur("2026-05-01T00:00:00.000Z", Some("2026-05-31T00:00:00.000Z"), None), now, day);
        assert_eq!(p.previous_valid_until, "2026-05-31T00:00:00.000Z");
        assert_eq!(p.expires.as_deref(), Some("2026-07-01T00:00:00.000Z"));
        assert!(p.previous_had_expired);
        // A token without expiry stays without one.
        let p = plan_rotation(&cur("2026-05-01T00:00:00.000Z", None, Some("2026-05-02T00:00:00.000Z")), now, day);
        assert_eq!((p.expires, p.dropped_older), (None, false));
    }
}
