//! What the simulated Okta and Entra ID connections send, round after round.

use super::client::*;
use super::*;

pub(super) fn id_if(r: &Reply, status: u16) -> Option<String> {
    (r.status == status).then(|| r.body["id"].as_str().map(str::to_owned)).flatten()
}

pub(super) fn first_id(r: &Reply) -> Option<String> {
    (r.status == 200).then(|| r.body["Resources"][0]["id"].as_str().map(str::to_owned)).flatten()
}

// ------------------------------------------------------------------------------------ people

pub(super) const GIVEN: [&str; 16] = [
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
pub(super) const FAMILY: [&str; 15] = [
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
pub(super) const TITLES: [&str; 5] = ["Engineer", "Analyst", "Designer", "Product Manager", "Accountant"];
pub(super) const DEPARTMENTS: [&str; 4] = ["Research", "Sales", "Finance", "Operations"];

/// The `n`th sample person: distinct names for the first 240 (16 and 15 are coprime), then the
/// same names with a number.
pub(super) struct Person {
    pub(super) given: &'static str,
    pub(super) family: &'static str,
    pub(super) handle: String,
}

pub(super) fn person(n: u64) -> Person {
    let (given, family) = (GIVEN[(n % 16) as usize], FAMILY[(n % 15) as usize]);
    let round = n / 240;
    let base = format!("{}.{}", given.to_lowercase(), family.to_lowercase().replace('-', ""));
    let handle = if round == 0 { base } else { format!("{base}{}", round + 1) };
    Person { given, family, handle }
}

/// An Okta user id: `00u` and 17 random letters and digits.
pub(super) fn okta_id() -> String {
    const ALNUM: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let mut rng = rand::rng();
    let tail: String = (0..17).map(|_| ALNUM[rng.random_range(0..ALNUM.len())] as char).collect();
    format!("00u{tail}")
}

pub(super) fn guid() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// Percent-encodes a query value (everything but unreserved characters).
pub(super) fn enc(s: &str) -> String {
    const SET: &percent_encoding::AsciiSet =
        &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');
    percent_encoding::utf8_percent_encode(s, SET).to_string()
}

// ------------------------------------------------------------------------------------ Okta

/// Okta's `accounts` for the `n`th Acme user: a list of JSON strings (a multi-valued string
/// attribute in Okta's profile).
pub(super) fn okta_accounts(n: u64) -> Value {
    let payloads: &[&str] = match n % 4 {
        0 => &[r#"{"accountId":"ACME","roles":"Viewer"}"#],
        1 => &[r#"{"accountId":"ACME-EU","roles":["Editor"],"teams":"Payments"}"#],
        2 => &[r#"{"accountId":"ACME-US","roles":"Editor"}"#, r#"{"accountId":"ACME-EU","roles":"Viewer"}"#],
        _ => &[r#"{"accountId":"ACME","roles":"Admin","teams":["Platform","Security"]}"#],
    };
    json!(payloads)
}

/// The body Okta POSTs when a user is assigned (§1.2 #4a).
pub(super) fn okta_create_body(p: &Person, accounts: Value) -> Value {
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
pub(super) fn okta_lookup(user_name: &str) -> String {
    format!("/Users?filter=userName%20eq%20%22{}%22&startIndex=1&count=100", enc(user_name))
}

pub(super) async fn run_okta(mut c: Client, rounds: Option<u64>) -> Result<Report, String> {
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
pub(super) fn entra_accounts(n: u64) -> &'static str {
    match n % 3 {
        0 => r#"[{"accountId":"GLOBEX","roles":"Viewer"}]"#,
        1 => r#"[{"accountId":"GLOBEX","roles":["Editor","Viewer"],"teams":"Sales"}]"#,
        _ => r#"[{"accountId":"GLOBEX","roles":"Editor"},{"accountId":"ACME-EU","roles":"Viewer","teams":"Partners"}]"#,
    }
}

/// The user Entra POSTs (§2.2 #4): `meta`, `null`s, `roles: []`, the enterprise object, the
/// accounts string under the scimbox extension's attribute URN.
pub(super) fn entra_create_body(p: &Person, n: u64) -> Value {
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
pub(super) fn entra_filter(expr: &str) -> String {
    enc(expr).replace("%20", "+")
}

pub(super) async fn run_entra(mut c: Client, rounds: Option<u64>) -> Result<Report, String> {
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
