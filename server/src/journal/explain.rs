//! Why a request failed and what to change, in plain words, for the status page.
//!
//! The reader is an IdP administrator looking at a red mark: each reason quotes scimbox's detail,
//! and each fix names what to change and where (usually the IdP's attribute mapping or
//! provisioning settings, sometimes a `scimbox` command).

use crate::db::journal::Entry;

/// The reason a recorded request failed and a suggested fix; for a success, a short note and no
/// fix.
pub fn explain(e: &Entry) -> (String, String) {
    let detail = e.detail.as_deref().unwrap_or("").trim();
    if e.status < 400 {
        return ("the request succeeded".into(), String::new());
    }
    let (reason, fix) = match (e.status, e.scim_type.as_deref().unwrap_or("")) {
        (400, "invalidSyntax" | "invalidValue") if detail.contains("accounts") => accounts(detail),
        (400, "invalidSyntax") => invalid_syntax(detail),
        (400, "invalidValue") => invalid_value(detail),
        (400, "invalidFilter") => invalid_filter(detail),
        (400, "invalidPath") => invalid_path(detail),
        (400, "noTarget") => no_target(detail),
        (400, "mutability") => mutability(detail),
        (400, "tooMany") => too_many(detail),
        (401, _) => unauthorized(detail),
        (404, _) => not_found(e, detail),
        (405 | 501, _) => unsupported(detail),
        (408, _) => timeout(),
        (409, _) => conflict(e, detail),
        (412, _) => precondition(),
        (413, _) => too_large(detail),
        (415, _) => media_type(detail),
        (429, _) if detail.contains("deprovisioning guard") => guard_held(e, detail),
        (429, _) => rate_limited(detail),
        (503, _) => unavailable(detail),
        (s, _) if s >= 500 => server(detail),
        _ => other(e.status, detail),
    };
    (reason, fix)
}

type Words = (String, String);

fn quote(detail: &str) -> String {
    if detail.is_empty() { "(no detail given)".into() } else { format!("“{detail}”") }
}

/// "payload 2, line 1, column 14" from `accounts[2] (line 1, column 14): ...`.
fn position(detail: &str) -> Option<String> {
    let at = detail.find("accounts")?;
    let rest = &detail[at + "accounts".len()..];
    let index = rest.strip_prefix('[').and_then(|r| r.split_once(']')).map(|(i, _)| i.to_owned());
    let pos = rest.find("(line ").map(|p| &rest[p + 1..]).and_then(|r| r.split_once(')')).map(|(p, _)| p.to_owned());
    match (index, pos) {
        (Some(i), Some(p)) => Some(format!("payload accounts[{i}], {p} of that payload")),
        (None, Some(p)) => Some(format!("{p} of the payload")),
        (Some(i), None) => Some(format!("payload accounts[{i}]")),
        (None, None) => None,
    }
}

fn accounts(detail: &str) -> Words {
    let reason = format!("the user's access payload (accounts) was refused: {}", quote(detail));
    let place = position(detail).map(|p| format!("The fault is at {p}. ")).unwrap_or_default();
    let fix = format!(
        "{place}Correct the IdP's attribute mapping (or expression) that builds `accounts`: each payload is a JSON \
         object such as {{\"accountId\":\"ACC123\",\"roles\":\"Editor\"}} naming a registered account \
         (`scimbox account list`). Paste the payload into the checker at /check to see the fault as you type, then \
         re-push the user from the IdP."
    );
    (reason, fix)
}

fn invalid_syntax(detail: &str) -> Words {
    (
        format!("the request body could not be read as a SCIM message: {}", quote(detail)),
        "If the body comes from a custom expression in the IdP's attribute mapping, fix that expression (the \
         position above says where); if the IdP builds the body itself, report it to the IdP vendor with this \
         entry."
            .into(),
    )
}

fn invalid_value(detail: &str) -> Words {
    if detail.contains("no User or Group has id") {
        return (
            format!("the group push named a member that does not exist here: {}", quote(detail)),
            "Assign that user to the application in the IdP (so it is provisioned first), or remove it from the \
             pushed group; then push the group again."
                .into(),
        );
    }
    if detail.contains("required") {
        return (
            format!("a required attribute is missing: {}", quote(detail)),
            "Map that attribute in the IdP's attribute mapping so every user has a value (or stop requiring it: \
             `scimbox serve --require`), then re-push the user."
                .into(),
        );
    }
    (
        format!("a value was refused: {}", quote(detail)),
        "Correct the attribute named above in the IdP's attribute mapping (its type or format), then re-push.".into(),
    )
}

fn invalid_filter(detail: &str) -> Words {
    (
        format!("the IdP searched with a filter scimbox cannot evaluate: {}", quote(detail)),
        "Check the IdP's matching attribute (the one it looks users up by, usually userName): it must be a SCIM \
         attribute such as userName, externalId or emails.value."
            .into(),
    )
}

fn invalid_path(detail: &str) -> Words {
    (
        format!("an update (PATCH) named an attribute path scimbox does not accept: {}", quote(detail)),
        "Check the target attribute names in the IdP's attribute mapping; a custom attribute must be under an \
         extension schema, e.g. urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department."
            .into(),
    )
}

fn no_target(detail: &str) -> Words {
    (
        format!("an update (PATCH) pointed at a value that is not there: {}", quote(detail)),
        "The resource was probably changed here and in the IdP separately: push it again from the IdP (a full \
         update) so both sides agree."
            .into(),
    )
}

fn mutability(detail: &str) -> Words {
    (
        format!("the IdP tried to change an attribute that cannot be changed: {}", quote(detail)),
        "Remove that attribute from the IdP's update mapping (or apply it on create only); read-only attributes \
         such as id and meta must never be sent."
            .into(),
    )
}

fn too_many(detail: &str) -> Words {
    (
        format!("a search matched more resources than scimbox returns at once: {}", quote(detail)),
        "Narrow the filter.".into(),
    )
}

fn unauthorized(detail: &str) -> Words {
    if detail.contains("missing Authorization") || detail.contains("must be \"Bearer") {
        return (
            format!("the IdP sent no usable bearer token: {}", quote(detail)),
            "Set the IdP's provisioning authentication to an HTTP header / bearer token and paste a token made with \
             `scimbox token create --name <connection>`."
                .into(),
        );
    }
    (
        "the IdP's token is unknown, revoked or expired".into(),
        "Create a new token with `scimbox token create --name <connection>` and paste it into the IdP's \
         provisioning settings (API token / secret token); the old one no longer works."
            .into(),
    )
}

fn not_found(e: &Entry, detail: &str) -> Words {
    let what = e.resource_type.as_deref().unwrap_or("resource").to_lowercase();
    let id = e.resource_id.as_deref().unwrap_or("");
    match (e.method.as_str(), id.is_empty()) {
        ("PATCH" | "PUT", false) => (
            format!(
                "the {what} {id} does not exist here, but the IdP still has it: it was deleted here after the IdP created it"
            ),
            format!(
                "Re-provision it from the IdP: unassign and reassign the {what} (Okta, OneLogin, JumpCloud) or provision \
                 it on demand (Entra), so that the IdP creates it again."
            ),
        ),
        ("DELETE", false) => (
            format!("the IdP deleted a {what} that was already gone here"),
            "Nothing to do: the outcome is the same.".into(),
        ),
        (_, false) => (
            format!("the IdP looked up a {what} that does not exist here"),
            "Nothing to do unless it repeats for a resource you expect to exist.".into(),
        ),
        _ => (
            format!("the IdP called a URL scimbox does not serve: {}", quote(detail)),
            "Check the SCIM base URL in the IdP's provisioning settings: it must end with /scim/v2.".into(),
        ),
    }
}

fn unsupported(detail: &str) -> Words {
    (
        format!("the IdP used an operation scimbox does not support: {}", quote(detail)),
        "Turn that feature off in the IdP's provisioning settings.".into(),
    )
}

fn timeout() -> Words {
    (
        "the request did not finish in time (a slow client or network, or a busy server)".into(),
        "The IdP retries on its own; if it keeps happening, check the server's load and the network path.".into(),
    )
}

fn conflict(e: &Entry, detail: &str) -> Words {
    let (reason, attr, what) = match e.resource_type.as_deref() {
        Some("Group") => ("displayName already used by another group", "displayName", "group"),
        _ => ("userName already taken by another user", "userName", "user"),
    };
    (
        format!("{reason}: {}", quote(detail)),
        format!(
            "The IdP is re-creating an existing {what}: check its matching attribute ({attr}) and that the {what} was \
             not renamed here; if the copy here is stale, delete it here and re-push."
        ),
    )
}

fn precondition() -> Words {
    (
        "the IdP's copy was out of date: the resource changed since the IdP read it (If-Match did not match)".into(),
        "Usually settled by the IdP's own retry; if it persists, push the resource again from the IdP.".into(),
    )
}

fn too_large(detail: &str) -> Words {
    (
        format!("the request body was larger than scimbox accepts: {}", quote(detail)),
        "Send fewer changes per request: lower the IdP's batch size, or push large groups in smaller steps.".into(),
    )
}

fn media_type(detail: &str) -> Words {
    (
        format!("the request body had an unsupported content type: {}", quote(detail)),
        "The IdP (or script) must send Content-Type: application/scim+json or application/json.".into(),
    )
}

fn server(detail: &str) -> Words {
    (
        format!("scimbox failed while handling the request: {}", quote(detail)),
        "Look at the server log at this time for the cause; the IdP retries failed requests. If it repeats, report \
         it with this entry."
            .into(),
    )
}

fn unavailable(detail: &str) -> Words {
    (
        format!("the database could not take the change, so nothing was changed: {}", quote(detail)),
        "Check /healthz and the server log: free disk space, make the database file writable, or restore it \
         (a removed file needs a restart). The IdP retries the request once scimbox answers again."
            .into(),
    )
}

fn guard_held(e: &Entry, detail: &str) -> Words {
    let who = e.token_name.as_deref().unwrap_or("TOKEN_NAME");
    (
        format!(
            "the deprovisioning guard held this deactivation or deletion, so nothing was changed: this connection              deactivated or deleted more existing users within the guard's window than --guard-max allows: {}",
            quote(detail)
        ),
        format!(
            "Check in the IdP why it is deprovisioning so many users (a changed scoping rule, a deleted group or              assignment). If it is intended, release the connection with `scimbox guard release --db PATH {who}`              (or the overview's Release button): the IdP's retries then succeed. Otherwise fix the IdP first;              nothing held was applied."
        ),
    )
}

fn rate_limited(detail: &str) -> Words {
    (
        format!("the request was over the rate limit, so nothing was done: {}", quote(detail)),
        "The IdP retries after the Retry-After it was sent. If a real IdP meets this limit, raise --rate and \
         --burst (or --address-rate for requests without a valid token)."
            .into(),
    )
}

fn other(status: u16, detail: &str) -> Words {
    (format!("the request was refused with HTTP {status}: {}", quote(detail)), String::new())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failed(method: &str, status: u16, scim_type: Option<&str>, detail: &str) -> Entry {
        Entry {
            method: method.into(),
            status,
            scim_type: scim_type.map(str::to_owned),
            detail: Some(detail.into()),
            resource_type: Some("User".into()),
            resource_id: Some("u1".into()),
            ..Entry::default()
        }
    }

    #[test]
    fn accounts_fault_names_its_position_and_the_mapping() {
        let d = r#"accounts[1] (line 1, column 14): unknown key "acountId"; did you mean "accountId"?"#;
        let (reason, fix) = explain(&failed("POST", 400, Some("invalidValue"), d));
        assert!(reason.contains("acountId"), "{reason}");
        assert!(fix.contains("payload accounts[1], line 1, column 14") && fix.contains("attribute mapping"), "{fix}");
    }

    #[test]
    fn common_statuses() {
        let words = |m, s, t, d| explain(&failed(m, s, t, d));
        assert!(words("GET", 401, None, "x").1.contains("scimbox token create"));
        assert!(words("PATCH", 404, None, "User u1 not found").0.contains("deleted here"));
        assert!(words("POST", 409, Some("uniqueness"), "taken").0.contains("userName already taken"));
        assert!(words("PUT", 412, None, "x").0.contains("out of date"));
        assert!(words("POST", 413, None, "big").1.contains("fewer"));
        assert!(words("GET", 500, None, "boom").1.contains("server log"));
        assert!(words("POST", 503, None, "the disk holding the database is full").1.contains("free disk space"));
        assert!(words("PATCH", 400, Some("mutability"), "id is readOnly").0.contains("id is readOnly"));
        assert_eq!(words("GET", 200, None, "").1, "");
        let mut held = failed("PATCH", 429, None, "held by the deprovisioning guard: connection \"okta\" ...");
        held.token_name = Some("okta".into());
        let (reason, fix) = explain(&held);
        assert!(
            reason.contains("deprovisioning guard") && fix.contains("scimbox guard release --db PATH okta"),
            "{fix}"
        );
        assert!(words("GET", 429, None, "connection \"a\" sent more than 5 requests").1.contains("--rate"));
    }
}
