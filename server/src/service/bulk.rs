//! SCIM Bulk (RFC 7644 §3.7): parse a BulkRequest (the `request` submodule), order its
//! operations, run each one through the same service functions as the single-resource endpoints,
//! and report what each did. No HTTP here: `http::bulk` reads the body and renders the response.
//!
//! **Commit semantics.** Every operation is its own write and commits on its own, exactly as if
//! it had been sent alone: once its status is reported it is on disk. A failed operation does not
//! roll back the operations before it, and nothing is rolled back when processing stops early
//! (`failOnErrors`, or the request deadline). The RFC asks for this: the service provider
//! "MUST continue performing as many changes as possible and disregard partial failures" (§3.7).
//!
//! **Order** (§3.7.2). Operations run in request order, except that the POST declaring a
//! `bulkId` runs before any operation that refers to it: a depth-first walk of the references,
//! started from each operation in request order, runs an operation's referenced POSTs first, then
//! the operation. Without forward references that is exactly request order. Moving a POST earlier
//! is the least visible reordering there is: nothing in the request can reach the resource it
//! creates except through its `bulkId`, and every such operation waits for it anyway.
//!
//! **Circular references** (§3.7.1). When the walk reaches a POST that is itself still waiting
//! (group A lists `bulkId:B` as a member, and B lists `bulkId:A`), the reference closing the
//! cycle is cut: that POST creates its resource without the values holding the reference (an
//! array element such as one member, or the attribute), and as soon as every cut target exists
//! a PATCH `add` without a path puts them back, with the ids substituted. That is the RFC's
//! example: both groups are created, then each gains the other as a member.
//!
//! **References** are string values `"bulkId:<id>"` anywhere inside `data` (member values, the
//! enterprise `manager.value`, ...) and a `bulkId:<id>` segment in `path`; each becomes the id of
//! the resource that POST created. A reference that cannot be resolved (no POST declares it, or
//! that POST failed) fails its operation with 409, naming the bulkId (§3.7.1 allows 409). A POST
//! whose cut references cannot be added afterwards keeps its resource (it is committed) and is
//! reported with that error and its `location`.
//!
//! Request faults are answered for the whole request: not a BulkRequest (400 `invalidSyntax`),
//! a bad `failOnErrors` or a `bulkId` declared twice (400 `invalidValue`), more than
//! [`MAX_OPERATIONS`] operations (413, §3.7.4). An operation's own faults are that operation's
//! outcome, and the others go on: not an object (400), an unknown method or a missing `bulkId`,
//! `path` or `data` (400 `invalidValue`), `data` that is not an object (400 `invalidSyntax`), a
//! resource type other than Users and Groups (404, as the same request alone would get), a
//! method the path does not take, such as POST to `/Users/{id}` (405).

mod request;

use std::collections::{HashMap, HashSet};

use scimbox_validator::schema::PATCH_OP_URN;
use serde_json::{Map, Value, json};

use super::groups::{self, Members};
use super::users::WithAccess;
use super::{Error, Preconditions, Rendered, Result, etag, users};
use crate::db::Db;
pub use request::{BulkRequest, parse};
use request::{Endpoint, Entry, IdRef, Method, Op, bulk_ref};

/// The schema of a Bulk request (RFC 7644 §3.7).
pub const BULK_REQUEST_URN: &str = "urn:ietf:params:scim:api:messages:2.0:BulkRequest";
/// The schema of a Bulk response (RFC 7644 §3.7).
pub const BULK_RESPONSE_URN: &str = "urn:ietf:params:scim:api:messages:2.0:BulkResponse";
/// The most operations one Bulk request may carry (`bulk.maxOperations`, RFC 7644 §3.7.4).
pub const MAX_OPERATIONS: usize = 1000;
/// The largest Bulk request body, in bytes (`bulk.maxPayloadSize`, RFC 7644 §3.7.4).
pub const MAX_PAYLOAD_SIZE: usize = 1024 * 1024;
/// How a value refers to the resource another operation creates (RFC 7644 §3.7.2).
const BULK_ID_PREFIX: &str = "bulkId:";

/// The refusal of a body over [`MAX_PAYLOAD_SIZE`], worded as in RFC 7644 §3.7.4 (413).
pub fn payload_too_large() -> Error {
    Error::Limit(format!("The size of the bulk operation exceeds the maxPayloadSize ({MAX_PAYLOAD_SIZE})."))
}

/// The `status` of an operation that succeeded (RFC 7644 §3.7.3): what the same request sent
/// alone would have been answered with. A SCIM value of the BulkResponse, not an HTTP status of
/// this layer; `http::bulk` writes it as the string of [`Status::code`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// A POST created its resource: 201.
    Created,
    /// A PUT or PATCH: 200.
    Ok,
    /// A DELETE: 204.
    NoContent,
}

impl Status {
    /// The number RFC 7644 §3.7.3 puts in `status`.
    pub fn code(self) -> u16 {
        match self {
            Self::Created => 201,
            Self::Ok => 200,
            Self::NoContent => 204,
        }
    }
}

/// What one operation did: one element of the BulkResponse's `Operations` (RFC 7644 §3.7.3).
#[derive(Debug)]
pub struct Outcome {
    /// `method`, as sent (upper case).
    pub method: Option<String>,
    /// `bulkId`, as sent.
    pub bulk_id: Option<String>,
    /// The id of the resource the operation reached, when known.
    pub id: Option<String>,
    /// `location`: the resource's URL (never for a POST that created nothing).
    pub location: Option<String>,
    /// `version`: the resource's ETag after the operation.
    pub version: Option<String>,
    /// The status, or the error that becomes `status` and `response`.
    pub result: Result<Status>,
}

// ---------------------------------------------------------------------------------------------
// References (RFC 7644 §3.7.2)
// ---------------------------------------------------------------------------------------------

/// Every bulkId `v` refers to, in order of appearance (repeats included).
fn refs_in<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
    match v {
        Value::String(s) => out.extend(bulk_ref(s)),
        Value::Array(a) => a.iter().for_each(|x| refs_in(x, out)),
        Value::Object(o) => o.values().for_each(|x| refs_in(x, out)),
        _ => {}
    }
}

fn refers_to(v: &Value, cut: &HashSet<String>) -> bool {
    let mut refs = Vec::new();
    refs_in(v, &mut refs);
    refs.iter().any(|r| cut.contains(*r))
}

/// The POSTs each operation refers to (indices, first reference first, no repeats). A reference
/// no POST declares is no edge: it fails its operation when it runs.
fn dependencies(entries: &[Entry], declared: &HashMap<String, usize>) -> Vec<Vec<usize>> {
    let deps_of = |e: &Entry| {
        let Ok(op) = &e.op else { return Vec::new() };
        let mut refs = Vec::new();
        if let Some(IdRef::Bulk(b)) = &op.id {
            refs.push(b.as_str());
        }
        refs_in(&op.data, &mut refs);
        let mut seen = HashSet::new();
        refs.into_iter().filter_map(|r| declared.get(r).copied()).filter(|d| seen.insert(*d)).collect()
    };
    entries.iter().map(deps_of).collect()
}

/// Splits `v` into what can be sent now and what refers to a `cut` bulkId (RFC 7644 §3.7.1): an
/// array element or a scalar holding such a reference moves whole to the second part; objects
/// are split member by member; a container left empty by the split is dropped.
fn split(v: Value, cut: &HashSet<String>) -> (Option<Value>, Option<Value>) {
    if !refers_to(&v, cut) {
        return (Some(v), None);
    }
    match v {
        Value::Object(o) => {
            let (mut kept, mut held) = (Map::new(), Map::new());
            for (k, x) in o {
                let (a, b) = split(x, cut);
                if let Some(a) = a {
                    kept.insert(k.clone(), a);
                }
                if let Some(b) = b {
                    held.insert(k, b);
                }
            }
            ((!kept.is_empty()).then_some(Value::Object(kept)), Some(Value::Object(held)))
        }
        Value::Array(a) => {
            let (held, kept): (Vec<Value>, Vec<Value>) = a.into_iter().partition(|x| refers_to(x, cut));
            ((!kept.is_empty()).then_some(Value::Array(kept)), Some(Value::Array(held)))
        }
        other => (None, Some(other)),
    }
}

// ---------------------------------------------------------------------------------------------
// Order (RFC 7644 §3.7.1, §3.7.2)
// ---------------------------------------------------------------------------------------------

/// One thing to do, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    /// Run operation `i` (a POST with cut references runs without the values holding them).
    Run(usize),
    /// Add the references cut from POST `i`, whose targets now all exist.
    Fixup(usize),
}

/// The steps in order, and for each operation the POSTs its references were cut from.
#[derive(Debug, Default, PartialEq, Eq)]
struct Plan {
    steps: Vec<Step>,
    cut: Vec<Vec<usize>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mark {
    New,
    Open,
    Done,
}

/// Orders operations with dependencies `deps` (see the module doc): each operation runs after
/// the POSTs it refers to, otherwise in request order; a reference that closes a cycle is cut.
fn plan(deps: &[Vec<usize>]) -> Plan {
    let n = deps.len();
    let mut walk = Walk {
        deps,
        mark: vec![Mark::New; n],
        waiting: vec![Vec::new(); n],
        plan: Plan { steps: Vec::with_capacity(n), cut: vec![Vec::new(); n] },
    };
    (0..n).for_each(|root| walk.visit(root));
    walk.plan
}

struct Walk<'a> {
    deps: &'a [Vec<usize>],
    mark: Vec<Mark>,
    /// For each POST, the operations whose reference to it was cut.
    waiting: Vec<Vec<usize>>,
    plan: Plan,
}

impl Walk<'_> {
    /// Depth-first from `root`, with an explicit stack: a chain of a thousand references must
    /// not exhaust the thread's stack.
    fn visit(&mut self, root: usize) {
        if self.mark[root] != Mark::New {
            return;
        }
        self.mark[root] = Mark::Open;
        let mut stack = vec![(root, 0)];
        while let Some((node, next)) = stack.last_mut() {
            let node = *node;
            let Some(&dep) = self.deps[node].get(*next) else {
                stack.pop();
                self.finish(node);
                continue;
            };
            *next += 1;
            match self.mark[dep] {
                Mark::New => {
                    self.mark[dep] = Mark::Open;
                    stack.push((dep, 0));
                }
                Mark::Open => {
                    self.plan.cut[node].push(dep);
                    self.waiting[dep].push(node);
                }
                Mark::Done => {}
            }
        }
    }

    /// Runs `node`; then adds the references cut from every POST whose cut targets are all done.
    fn finish(&mut self, node: usize) {
        self.mark[node] = Mark::Done;
        self.plan.steps.push(Step::Run(node));
        for i in std::mem::take(&mut self.waiting[node]) {
            if self.plan.cut[i].iter().all(|&d| self.mark[d] == Mark::Done) {
                self.plan.steps.push(Step::Fixup(i));
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Running
// ---------------------------------------------------------------------------------------------

/// Where the operations run, and what the single-resource endpoints would be given.
pub struct Context<'a> {
    /// The database.
    pub db: &'a Db,
    /// Core attributes required of a User beyond `userName`.
    pub required: &'a [String],
    /// The SCIM base URL, for `meta.location`.
    pub base: &'a str,
}

/// Values cut from a created resource, to be added once their targets exist.
struct Held {
    endpoint: Endpoint,
    id: String,
    value: Value,
}

struct Runner<'a> {
    cx: &'a Context<'a>,
    declared: &'a HashMap<String, usize>,
    /// Each POST that ran: the id it created, or `None` when it failed.
    created: HashMap<String, Option<String>>,
    held: HashMap<usize, Held>,
    outcomes: Vec<Option<Outcome>>,
    errors: usize,
}

/// Runs a parsed request (see the module doc for order and commit semantics) and returns the
/// outcome of each processed operation, in request order. With `failOnErrors` = n, processing
/// stops after the n-th error; the operations not processed are not listed (RFC 7644 §3.7.3).
pub async fn run(cx: &Context<'_>, req: BulkRequest) -> Vec<Outcome> {
    let BulkRequest { fail_on_errors, entries, declared } = req;
    let plan = plan(&dependencies(&entries, &declared));
    let names = |c: &Vec<usize>| c.iter().filter_map(|&d| entries[d].bulk_id.clone()).collect::<HashSet<_>>();
    let cut: Vec<HashSet<String>> = plan.cut.iter().map(names).collect();
    let mut entries: Vec<Option<Entry>> = entries.into_iter().map(Some).collect();
    let mut runner = Runner {
        cx,
        declared: &declared,
        created: HashMap::new(),
        held: HashMap::new(),
        outcomes: (0..entries.len()).map(|_| None).collect(),
        errors: 0,
    };
    for step in plan.steps {
        if fail_on_errors.is_some_and(|n| runner.errors >= n) {
            break;
        }
        match step {
            Step::Run(i) => match entries[i].take() {
                Some(e) => runner.run(i, e, &cut[i]).await,
                None => continue,
            },
            Step::Fixup(i) => runner.fixup(i).await,
        }
    }
    runner.finish()
}

impl Runner<'_> {
    async fn run(&mut self, i: usize, entry: Entry, cut: &HashSet<String>) {
        let Entry { method, bulk_id, op } = entry;
        let mut out = Outcome { method, bulk_id, id: None, location: None, version: None, result: Ok(Status::Ok) };
        out.result = match op {
            Ok(op) => self.execute(i, op, cut, &mut out).await,
            Err(e) => Err(e),
        };
        if out.method.as_deref() == Some("POST")
            && let Some(b) = &out.bulk_id
        {
            let id = if out.result.is_ok() { out.id.clone() } else { None };
            self.created.insert(b.clone(), id);
        }
        self.errors += usize::from(out.result.is_err());
        self.outcomes[i] = Some(out);
    }

    async fn execute(&mut self, i: usize, op: Op, cut: &HashSet<String>, out: &mut Outcome) -> Result<Status> {
        out.id = op.id.as_ref().map(|r| self.resolve_id(r)).transpose()?;
        out.location = out.id.as_ref().map(|id| format!("{}/{}/{id}", self.cx.base, op.endpoint.as_str()));
        let (data, held) = if cut.is_empty() { (Some(op.data), None) } else { split(op.data, cut) };
        let data = self.substitute(data.unwrap_or_else(|| json!({})))?;
        let pre = Preconditions { if_match: op.version, if_none_match: None };
        if let Some(r) = call(self.cx, op.method, op.endpoint, out.id.clone(), &data, pre).await? {
            (out.version, out.location, out.id) = (Some(etag(r.version)), Some(r.location), Some(r.id));
        }
        if let (Some(value), Some(id)) = (held, out.id.clone()) {
            self.held.insert(i, Held { endpoint: op.endpoint, id, value });
        }
        Ok(op.method.success())
    }

    /// Adds the references cut from POST `i` (RFC 7644 §3.7.1) with a PATCH `add`.
    async fn fixup(&mut self, i: usize) {
        let Some(Held { endpoint, id, value }) = self.held.remove(&i) else { return };
        let result = match self.substitute(value) {
            Ok(v) => {
                let patch = json!({"schemas": [PATCH_OP_URN], "Operations": [{"op": "add", "value": v}]});
                call(self.cx, Method::Patch, endpoint, Some(id), &patch, Preconditions::default()).await
            }
            Err(e) => Err(e),
        };
        let Some(out) = self.outcomes[i].as_mut() else { return };
        match result {
            Ok(Some(r)) => out.version = Some(etag(r.version)),
            Ok(None) => {}
            Err(e) => {
                out.result = Err(after_create(e, out.location.as_deref().unwrap_or_default()));
                self.errors += 1;
            }
        }
    }

    /// The outcomes of the processed operations. A POST still waiting for its cut references
    /// (processing stopped first) was created without them, and says so.
    fn finish(mut self) -> Vec<Outcome> {
        for (i, held) in std::mem::take(&mut self.held) {
            let mut refs = Vec::new();
            refs_in(&held.value, &mut refs);
            let names: Vec<String> = refs.iter().map(|r| format!("{BULK_ID_PREFIX}{r}")).collect();
            let stopped = Error::Unresolved(format!(
                "processing stopped (failOnErrors) before its references to {} were added",
                names.join(", ")
            ));
            if let Some(out) = self.outcomes[i].as_mut() {
                out.result = Err(after_create(stopped, out.location.as_deref().unwrap_or_default()));
            }
        }
        self.outcomes.into_iter().flatten().collect()
    }

    fn resolve_id(&self, r: &IdRef) -> Result<String> {
        match r {
            IdRef::Id(id) => Ok(id.clone()),
            IdRef::Bulk(b) => self.resolve(b),
        }
    }

    /// The id created by the POST declaring `b`, or 409 naming `b` (RFC 7644 §3.7.1).
    fn resolve(&self, b: &str) -> Result<String> {
        let unresolved = |why: &str| Err(Error::Unresolved(format!("bulkId:{b} cannot be resolved: {why}")));
        match self.created.get(b) {
            Some(Some(id)) => Ok(id.clone()),
            Some(None) => unresolved("the POST that declares it failed"),
            None if self.declared.contains_key(b) => unresolved("the POST that declares it was not processed"),
            None => unresolved("no POST in this request declares it"),
        }
    }

    /// `v` with every `"bulkId:x"` string replaced by the id x stands for.
    fn substitute(&self, v: Value) -> Result<Value> {
        Ok(match v {
            Value::String(s) => match bulk_ref(&s) {
                Some(b) => Value::String(self.resolve(b)?),
                None => Value::String(s),
            },
            Value::Array(a) => Value::Array(a.into_iter().map(|x| self.substitute(x)).collect::<Result<_, _>>()?),
            Value::Object(o) => {
                Value::Object(o.into_iter().map(|(k, x)| Ok((k, self.substitute(x)?))).collect::<Result<_>>()?)
            }
            other => other,
        })
    }
}

/// The error of a POST that created its resource but could not add its cut references.
/// It keeps its kind (and so its SCIM status and `scimType`); its text says what was created.
fn after_create(e: Error, location: &str) -> Error {
    let say = |detail: String| format!("created {location} without some of its values: {detail}");
    match e {
        Error::NotFound(d) => Error::NotFound(say(d)),
        Error::Conflict(d) => Error::Conflict(say(d)),
        Error::Unresolved(d) => Error::Unresolved(say(d)),
        Error::MethodNotAllowed(d) => Error::MethodNotAllowed(say(d)),
        Error::PreconditionFailed(d) => Error::PreconditionFailed(say(d)),
        Error::Invalid(mut v) => {
            v.detail = say(v.detail);
            Error::Invalid(v)
        }
        Error::Limit(d) => Error::Limit(say(d)),
        Error::TimedOut(d) => Error::TimedOut(say(d)),
        Error::Unavailable(reason) => Error::Unavailable(say(reason)),
        Error::Held { detail, retry_after } => Error::Held { detail: say(detail), retry_after },
        Error::Gone(d) => Error::Gone(say(d)),
        internal @ Error::Internal(_) => internal,
    }
}

/// One operation through the service function its endpoint would call: the resource it left,
/// or `None` for a DELETE.
async fn call(
    cx: &Context<'_>,
    method: Method,
    endpoint: Endpoint,
    id: Option<String>,
    data: &Value,
    pre: Preconditions,
) -> Result<Option<Rendered>> {
    let (db, required, base, id) = (cx.db, cx.required, cx.base.to_owned(), id.unwrap_or_default());
    // A Bulk response carries each operation's location and version, not the resource
    // (RFC 7644 §3.7.3): related data nobody reads is not computed (members, access).
    let no_access = WithAccess(false);
    match (endpoint, method) {
        (Endpoint::Users, Method::Post) => users::create(db, data, required, base, no_access).await.map(Some),
        (Endpoint::Users, Method::Put) => users::replace(db, &id, data, pre, required, base, no_access).await.map(Some),
        (Endpoint::Users, Method::Patch) => users::patch(db, &id, data, pre, required, base, no_access).await.map(Some),
        (Endpoint::Users, Method::Delete) => users::delete(db, &id, pre).await.map(|()| None),
        (Endpoint::Groups, Method::Post) => groups::create(db, data, base, Members::Omit).await.map(Some),
        (Endpoint::Groups, Method::Put) => groups::replace(db, &id, data, pre, base, Members::Omit).await.map(Some),
        (Endpoint::Groups, Method::Patch) => groups::patch(db, &id, data, pre, base, Members::Omit).await.map(Some),
        (Endpoint::Groups, Method::Delete) => groups::delete(db, &id, pre).await.map(|()| None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn runs(steps: &[Step]) -> Vec<usize> {
        steps.iter().filter_map(|s| if let Step::Run(i) = s { Some(*i) } else { None }).collect()
    }

    /// Every operation runs once; after each dependency it was not cut from; a fixup comes
    /// after its own POST and after every target it was cut from.
    fn assert_sound(deps: &[Vec<usize>], p: &Plan) {
        let pos = |want: Step| p.steps.iter().position(|s| *s == want).unwrap_or(usize::MAX);
        let mut ran = runs(&p.steps);
        ran.sort_unstable();
        assert_eq!(ran, (0..deps.len()).collect::<Vec<_>>(), "{p:?}");
        for (i, ds) in deps.iter().enumerate() {
            for d in ds.iter().filter(|d| !p.cut[i].contains(d)) {
                assert!(pos(Step::Run(*d)) < pos(Step::Run(i)), "{i} runs after {d}: {p:?}");
            }
            if !p.cut[i].is_empty() {
                let fix = pos(Step::Fixup(i));
                assert!(fix != usize::MAX && pos(Step::Run(i)) < fix, "{p:?}");
                assert!(p.cut[i].iter().all(|d| pos(Step::Run(*d)) < fix), "{p:?}");
            }
        }
        let fixups = p.steps.len() - deps.len();
        assert_eq!(fixups, p.cut.iter().filter(|c| !c.is_empty()).count(), "one fixup per cut POST: {p:?}");
    }

    #[test]
    fn without_references_the_order_is_the_request_order() {
        let deps = vec![vec![], vec![], vec![]];
        let p = plan(&deps);
        assert_eq!(p.steps, [Step::Run(0), Step::Run(1), Step::Run(2)]);
        assert!(p.cut.iter().all(Vec::is_empty));
    }

    #[test]
    fn a_forward_reference_runs_its_post_first_and_keeps_the_rest_in_order() {
        // 0 refers to POST 2; 1 is unrelated and stays after 0.
        let deps = vec![vec![2], vec![], vec![]];
        assert_eq!(plan(&deps).steps, [Step::Run(2), Step::Run(0), Step::Run(1)]);
        // A backward reference changes nothing.
        let deps = vec![vec![], vec![0], vec![]];
        assert_eq!(plan(&deps).steps, [Step::Run(0), Step::Run(1), Step::Run(2)]);
    }

    #[test]
    fn a_chain_of_forward_references_runs_deepest_first() {
        let deps = vec![vec![1], vec![2], vec![]];
        let p = plan(&deps);
        assert_eq!(p.steps, [Step::Run(2), Step::Run(1), Step::Run(0)]);
        assert_sound(&deps, &p);
    }

    #[test]
    fn shared_dependencies_run_once() {
        // 0 and 1 both refer to POST 3, which refers to POST 2.
        let deps = vec![vec![3], vec![3], vec![], vec![2]];
        let p = plan(&deps);
        assert_eq!(p.steps, [Step::Run(2), Step::Run(3), Step::Run(0), Step::Run(1)]);
        assert_sound(&deps, &p);
    }

    #[test]
    fn a_two_cycle_is_cut_once_and_fixed_after_both_exist() {
        // RFC 7644 §3.7.1: group 0 has member bulkId of 1, group 1 has member bulkId of 0.
        let deps = vec![vec![1], vec![0]];
        let p = plan(&deps);
        assert_eq!(p.steps, [Step::Run(1), Step::Run(0), Step::Fixup(1)]);
        assert_eq!(p.cut, [vec![], vec![0]]);
        assert_sound(&deps, &p);
    }

    #[test]
    fn longer_cycles_self_references_and_cycles_with_tails() {
        let three = vec![vec![1], vec![2], vec![0]];
        let p = plan(&three);
        assert_eq!(p.steps, [Step::Run(2), Step::Run(1), Step::Run(0), Step::Fixup(2)]);
        assert_sound(&three, &p);
        let own = vec![vec![0]];
        assert_eq!(plan(&own).steps, [Step::Run(0), Step::Fixup(0)]);
        // 0 (a PATCH, say) refers to 1, which is in a cycle with 2.
        let tail = vec![vec![1], vec![2], vec![1]];
        let p = plan(&tail);
        assert_eq!(p.steps, [Step::Run(2), Step::Run(1), Step::Fixup(2), Step::Run(0)]);
        assert_sound(&tail, &p);
    }

    #[test]
    fn a_post_cut_from_two_targets_is_fixed_once_after_the_last() {
        // 0 -> 1 -> 2, and 2 refers back to both 0 and 1.
        let deps = vec![vec![1], vec![2], vec![0, 1]];
        let p = plan(&deps);
        assert_eq!(p.cut[2], [0, 1]);
        assert_eq!(p.steps, [Step::Run(2), Step::Run(1), Step::Run(0), Step::Fixup(2)]);
        assert_sound(&deps, &p);
    }

    #[test]
    fn a_thousand_long_chain_does_not_exhaust_the_stack() {
        let n = MAX_OPERATIONS;
        let deps: Vec<Vec<usize>> = (0..n).map(|i| if i + 1 < n { vec![i + 1] } else { vec![] }).collect();
        let p = plan(&deps);
        assert_eq!(runs(&p.steps), (0..n).rev().collect::<Vec<_>>());
    }

    #[test]
    fn pseudo_random_graphs_are_planned_soundly() {
        let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = move |m: usize| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % m as u64) as usize
        };
        for _ in 0..200 {
            let n = 1 + next(12);
            let deps: Vec<Vec<usize>> = (0..n)
                .map(|_| {
                    let mut d: Vec<usize> = (0..next(3)).map(|_| next(n)).collect();
                    d.dedup();
                    d
                })
                .collect();
            assert_sound(&deps, &plan(&deps));
        }
    }

    /// What kind of refusal `e` is: the scimType of an `Invalid`, else the variant.
    fn kind(e: &Error) -> &'static str {
        match e {
            Error::Invalid(v) => v.scim_type.as_str(),
            Error::NotFound(_) => "notFound",
            Error::MethodNotAllowed(_) => "notAllowed",
            Error::Limit(_) => "limit",
            _ => "other",
        }
    }

    fn request(ops: Value) -> Result<BulkRequest> {
        parse(&json!({"schemas": [BULK_REQUEST_URN], "Operations": ops}))
    }

    #[test]
    fn dependencies_come_from_data_and_path_and_only_name_declared_posts() {
        let req = request(json!([
            {"method": "patch", "path": "/Groups/bulkId:g", "data": {"Operations": [{"op": "add", "value": "bulkId:u"}]}},
            {"method": "POST", "path": "/Users", "bulkId": "u", "data": {"manager": {"value": "bulkId:nobody"}}},
            {"method": "POST", "path": "/Groups", "bulkId": "g", "data": {"members": [{"value": "bulkId:u"}, {"value": "bulkId:u"}]}},
        ]))
        .expect("parses");
        assert_eq!(dependencies(&req.entries, &req.declared), [vec![2, 1], vec![], vec![1]]);
    }

    #[test]
    fn request_faults_are_refused_whole() {
        let status = |r: Result<BulkRequest>| r.err().map(|e| kind(&e));
        assert_eq!(status(parse(&json!([]))), Some("invalidSyntax"));
        assert_eq!(status(parse(&json!({"Operations": []}))), Some("invalidSyntax"));
        assert_eq!(status(parse(&json!({"schemas": [BULK_REQUEST_URN]}))), Some("invalidSyntax"));
        let dup = json!([{"method": "POST", "path": "/Users", "bulkId": "a", "data": {}},
                         {"method": "POST", "path": "/Groups", "bulkId": "a", "data": {}}]);
        assert_eq!(status(request(dup)), Some("invalidValue"));
        let many: Vec<Value> = (0..=MAX_OPERATIONS).map(|_| json!({})).collect();
        assert_eq!(status(request(Value::Array(many))), Some("limit"));
        let zero = json!({"schemas": [BULK_REQUEST_URN], "failOnErrors": 0, "Operations": []});
        assert_eq!(status(parse(&zero)), Some("invalidValue"));
        let keys = json!({"SCHEMAS": [BULK_REQUEST_URN.to_uppercase()], "operations": [], "failonerrors": "2"});
        assert_eq!(parse(&keys).map(|r| r.fail_on_errors).ok(), Some(Some(2)));
    }

    #[test]
    fn operation_faults_stay_with_their_operation() {
        let req = request(json!([
            "nope",
            {"method": "GET", "path": "/Users/x"},
            {"method": "POST", "path": "/Widgets", "bulkId": "w", "data": {}},
            {"method": "POST", "path": "/Users/x", "bulkId": "p", "data": {}},
            {"method": "PUT", "path": "/Users", "data": {}},
            {"method": "POST", "path": "/Users", "data": {}},
            {"method": "PATCH", "path": "/Users/x"},
            {"method": "PUT", "path": "/Users/x", "data": [1]},
            {"method": "delete", "path": "Users/bulkId:q/"},
        ]))
        .expect("parses");
        let status: Vec<&str> = req.entries.iter().map(|e| e.op.as_ref().err().map_or("ok", kind)).collect();
        let (syntax, value) = ("invalidSyntax", "invalidValue");
        assert_eq!(status, [syntax, value, "notFound", "notAllowed", "notAllowed", value, value, syntax, "ok"]);
        let last = req.entries[8].op.as_ref().expect("a DELETE by bulkId");
        assert_eq!(
            (last.method, last.endpoint, &last.id),
            (Method::Delete, Endpoint::Users, &Some(IdRef::Bulk("q".into())))
        );
    }

    #[test]
    fn split_moves_whole_elements_and_attributes_that_refer_to_cut_bulk_ids() {
        let cut: HashSet<String> = ["b".to_owned()].into();
        let data = json!({
            "displayName": "A",
            "members": [{"value": "bulkId:b", "type": "Group"}, {"value": "bulkId:c"}, {"value": "x"}],
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "D", "manager": {"value": "bulkId:b"}},
        });
        let (kept, held) = split(data, &cut);
        assert_eq!(
            kept,
            Some(json!({
                "displayName": "A",
                "members": [{"value": "bulkId:c"}, {"value": "x"}],
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "D"},
            }))
        );
        assert_eq!(
            held,
            Some(json!({
                "members": [{"value": "bulkId:b", "type": "Group"}],
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"manager": {"value": "bulkId:b"}},
            }))
        );
        let (kept, held) = split(json!({"members": [{"value": "bulkId:b"}]}), &cut);
        assert_eq!((kept, held), (None, Some(json!({"members": [{"value": "bulkId:b"}]}))));
        assert_eq!(split(json!({"a": 1}), &cut), (Some(json!({"a": 1})), None));
    }
}
