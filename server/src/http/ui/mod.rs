//! The status page: server-rendered HTML (askama templates in `web/templates`, compiled in) for
//! the admin, plus the public payload checker at `/check`.
//!
//! One module per page. Every page is an askama struct answered through [`page::Page`], which
//! sets the content type and security headers and turns a render failure into a logged 500.
//! Templates auto-escape; nothing here assembles HTML by hand. Every admin page takes an
//! [`AdminSession`] (no session: a redirect to `/login`), and every form that changes something
//! carries the session's CSRF token, checked by `csrf` before anything else happens.
//! Static assets (CSS, the checker's script) are embedded by the `statics` module.

mod accounts;
mod attrs;
mod check;
mod groups;
mod guard;
mod journal;
mod login;
mod overview;
mod page;
mod prose;
pub mod session;
mod statics;
mod time;
mod tokens;
mod tree;
mod trend;
mod user;
mod users;
mod webhooks;

use axum::Router;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::routing::{get, post};

use super::AppState;
use crate::service::admins;
pub use page::{Page, UiError};
pub use session::AdminSession;

/// The status page's routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(overview::page))
        .route("/login", get(login::page).post(login::submit))
        .route("/logout", post(login::logout))
        .route("/users", get(users::page))
        .route("/users/{id}", get(user::page))
        .route("/accounts", get(accounts::page))
        .route("/groups", get(groups::page))
        .route("/groups/{id}", get(groups::group))
        .route("/tokens", get(tokens::page).post(tokens::create))
        .route("/tokens/{name}/revoke", post(tokens::revoke))
        .route("/tokens/{name}/rotate", post(tokens::rotate))
        .route("/guard/{name}/release", post(guard::release))
        .route("/journal", get(journal::page))
        .route("/journal/{seq}", get(journal::entry))
        .route("/webhooks", get(webhooks::page))
        .route("/webhooks/{name}/replay", post(webhooks::replay))
        .route("/check", get(check::page).post(check::submit))
        .merge(statics::router())
}

/// One link of the navigation bar.
pub struct NavItem {
    /// Where it goes.
    pub href: &'static str,
    /// What it says.
    pub label: &'static str,
    /// Whether it is the page being shown.
    pub current: bool,
}

/// The navigation bar's links: `(href, label)`.
const NAV: [(&str, &str); 8] = [
    ("/", "Overview"),
    ("/users", "Users"),
    ("/accounts", "Accounts"),
    ("/groups", "Groups"),
    ("/tokens", "Tokens"),
    ("/webhooks", "Webhooks"),
    ("/journal", "Journal"),
    ("/check", "Check"),
];

/// What the shared layout (`base.html`) shows around every page.
pub struct Layout {
    /// The `<title>` and the page's `<h1>`.
    pub title: String,
    /// The navigation link of this page (its `href`).
    pub section: &'static str,
    /// The admin logged in, if any (the checker is public).
    pub admin: Option<String>,
    /// The CSRF token for the logout form and the page's own forms.
    pub csrf: String,
    /// A link to each static asset, with its ETag as a cache-busting query.
    pub css: String,
    /// The favicon's link, versioned the same way.
    pub icon: String,
    /// The Copy buttons' script, versioned the same way.
    pub copy_js: String,
    /// The script that shows `<time data-local>` in the browser's time zone.
    pub time_js: String,
}

impl Layout {
    /// A page for a logged-in admin.
    pub fn new(title: impl Into<String>, section: &'static str, session: &AdminSession) -> Self {
        Self::with(title, section, Some(session))
    }

    /// A page for a visitor who may or may not be logged in.
    pub fn with(title: impl Into<String>, section: &'static str, session: Option<&AdminSession>) -> Self {
        Self {
            title: title.into(),
            section,
            admin: session.map(|s| s.admin.clone()),
            csrf: session.map(|s| s.csrf.clone()).unwrap_or_default(),
            css: statics::url("style.css"),
            icon: statics::url("favicon.svg"),
            copy_js: statics::url("copy.js"),
            time_js: statics::url("time.js"),
        }
    }

    /// The navigation links, the current one marked; none for a visitor who is not logged in,
    /// except the checker.
    pub fn nav(&self) -> Vec<NavItem> {
        NAV.iter()
            .filter(|(href, _)| self.admin.is_some() || *href == "/check")
            .map(|&(href, label)| NavItem { href, label, current: href == self.section })
            .collect()
    }
}

/// The visitor's session, if they are logged in (for the public pages).
pub struct MaybeAdmin(pub Option<AdminSession>);

impl FromRequestParts<AppState> for MaybeAdmin {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        Ok(MaybeAdmin(AdminSession::from_request_parts(parts, state).await.ok()))
    }
}

/// Refuses a form whose CSRF token is not the session's (403).
pub fn csrf(session: &AdminSession, token: &str) -> Result<(), UiError> {
    if admins::check_csrf(session, token) {
        Ok(())
    } else {
        Err(UiError::Forbidden(
            "This form has expired or did not come from this site. Reload the page and try again.".into(),
        ))
    }
}

/// Paging through a list: which page, how many in all, and the links to the neighbours.
#[derive(Debug, Clone)]
pub struct Pager {
    /// 1-based page number.
    pub page: u64,
    /// Number of pages (at least 1).
    pub pages: u64,
    /// How many items in all.
    pub total: u64,
    /// The query string of the previous page's link, if there is one.
    pub prev: Option<String>,
    /// The query string of the next page's link, if there is one.
    pub next: Option<String>,
}

impl Pager {
    /// The pager of page `page` (1-based; clamped) of `total` items, `per_page` a page; `query`
    /// makes the query string of a page's link from its number.
    pub fn new(page: u64, per_page: u64, total: u64, query: impl Fn(u64) -> String) -> Self {
        let pages = total.div_ceil(per_page).max(1);
        let page = page.clamp(1, pages);
        let prev = (page > 1).then(|| query(page - 1));
        let next = (page < pages).then(|| query(page + 1));
        Self { page, pages, total, prev, next }
    }

    /// How many items come before this page.
    pub fn offset(page: u64, per_page: u64) -> u64 {
        page.max(1).saturating_sub(1).saturating_mul(per_page)
    }
}

/// The characters a path segment keeps as they are (RFC 3986's unreserved set).
const SEGMENT: &percent_encoding::AsciiSet =
    &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');

/// `id` percent-encoded for one path segment of a link (`/users/{id}`).
pub fn segment(id: &str) -> String {
    percent_encoding::utf8_percent_encode(id, SEGMENT).to_string()
}

/// Encodes query parameters, leaving out empty values.
pub fn query_string(pairs: &[(&str, &str)]) -> String {
    let mut q = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs.iter().filter(|(_, v)| !v.is_empty()) {
        q.append_pair(k, v);
    }
    q.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pager_clamps_and_links() {
        let p = Pager::new(9, 50, 120, |n| format!("page={n}"));
        assert_eq!((p.page, p.pages), (3, 3));
        assert_eq!((p.prev.as_deref(), p.next.as_deref()), (Some("page=2"), None));
        let p = Pager::new(1, 50, 0, |n| n.to_string());
        assert_eq!((p.pages, p.prev, p.next), (1, None, None));
        assert_eq!(Pager::offset(3, 50), 100);
        assert_eq!(Pager::offset(0, 50), 0);
    }

    #[test]
    fn query_strings_skip_empty_values() {
        assert_eq!(query_string(&[("q", "a b&c"), ("status", ""), ("page", "2")]), "q=a+b%26c&page=2");
        assert_eq!(segment("a-b_c.d~e/f g"), "a-b_c.d~e%2Ff%20g");
    }
}
