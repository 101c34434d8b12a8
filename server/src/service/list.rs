//! Lists and searches (RFC 7644 §3.4.2, §3.4.3), the same for every resource type.
//!
//! Without a filter or sort a page comes straight from SQLite in insertion order. A filter with
//! an equality on a key column (`id`, `userName`, `externalId`, `emails.value`; a Group's
//! `displayName`, `members.value`) among its top-level `and` terms reads only the rows that
//! index finds; else a filter the attribute index can narrow (`eq` or `sw` on any string
//! attribute, combined with `and`/`or`: `db::attr_index`) reads the rows it finds and evaluates
//! them; any other filter evaluates every row, one at a time, keeping only the matches' sort
//! keys and row numbers in memory; then the page's rows are read. Before a row is evaluated, SQLite
//! checks its stored text for the literals the filter needs (`prefilter`), so rows that cannot
//! match are never decoded. Either way the validator's one filter
//! evaluator decides, so every attribute of the schema is filterable and sortable.
//!
//! Pages come by index (`startIndex`, RFC 7644 §3.4.2.4: the default, what Okta and Entra use)
//! or by cursor (RFC 9865, [`super::cursor`]): a keyset page starts right after the position
//! (`seq`, and with `sortBy` the sort key) of the previous page's last resource. Unfiltered,
//! that is `WHERE seq > ? ORDER BY seq LIMIT n`; with a filter that needs a scan and no sort,
//! the scan continues from that `seq` and stops once the page is full, so a page costs the
//! rows between two matches, not the whole table; the total is then not known and
//! `totalResults` is left out, which RFC 9865 §2 allows. An index-narrowed filter or a sort
//! reads every match anyway, and then the total is given.

use std::cmp::Ordering;

use crate::db::sql::Connection;
use scimbox_validator::filter::index as filter_index;
use scimbox_validator::filter::{CompareOp, Filter, Literal, SortKey, cmp_sort_keys, sort_key};
use scimbox_validator::path::AttrPath;
use scimbox_validator::schema::{ResourceType, USER_RESOURCE};
use serde_json::Value;

use super::cursor::{self, Position, Scope};
use super::prefilter;
use super::{Error, Result};
use crate::db::attr_index;
use crate::db::rows::{self, FromRow, Kind, ResourceRow};
use crate::db::{Db, StoreError};

/// The most resources one list response carries (`filter.maxResults`).
pub const MAX_RESULTS: u64 = 1000;
/// The page size when a client sends no `count`.
pub const DEFAULT_COUNT: u64 = 100;
/// The most bytes of resources one list page carries: 4 MiB. RFC 7644 §3.4.2.4 lets a server
/// return fewer resources than `count` ("itemsPerPage" says how many came back, and the next
/// page starts after them), and a page of users each in hundreds of nested groups ran to 85 MB
/// of JSON, several times that in memory while it was built. A page stops before the resource
/// that would cross this budget, but always carries at least one, so paging always advances.
pub const PAGE_BYTES: usize = 4 * 1024 * 1024;

/// `sortOrder` (RFC 7644 §3.4.2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortOrder {
    /// The default.
    #[default]
    Ascending,
    /// Reversed.
    Descending,
}

/// A list or search request, already parsed.
#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    /// `filter`.
    pub filter: Option<Filter>,
    /// `sortBy`.
    pub sort_by: Option<AttrPath>,
    /// `sortOrder`.
    pub sort_order: SortOrder,
    /// `startIndex`, 1-based (values below 1 are taken as 1).
    pub start_index: u64,
    /// `count`, capped at [`MAX_RESULTS`].
    pub count: u64,
    /// The byte budget of the page's resources; `None` is [`PAGE_BYTES`].
    pub max_bytes: Option<usize>,
    /// `cursor` (RFC 9865 §2) as the client sent it, `Some("")` for a walk's first page;
    /// `None` pages by index. Read by [`list_rendered`], which sets [`Self::keyset`].
    pub cursor: Option<String>,
    /// A keyset page: where it starts. Set from the cursor (or by the root search, which walks
    /// two tables); `startIndex` is then ignored.
    pub keyset: Option<Keyset>,
}

/// Where a keyset page starts in a list's order (RFC 9865 cursors).
#[derive(Debug, Clone, PartialEq)]
pub enum Keyset {
    /// At the beginning.
    Start,
    /// Right after the resource with this insertion number and, with `sortBy`, this sort key
    /// (`None`: it had no value, which sorts last ascending and first descending).
    After {
        /// Its `seq`.
        seq: i64,
        /// Its sort key (ignored without `sortBy`).
        key: Option<SortKey>,
    },
    /// The page that ends right before this resource (a `previousCursor`).
    Before {
        /// Its `seq`.
        seq: i64,
        /// Its sort key (ignored without `sortBy`).
        key: Option<SortKey>,
    },
}

impl Keyset {
    /// The resource it starts after or ends before: its `seq` and sort key.
    fn pivot(&self) -> Option<(i64, &Option<SortKey>)> {
        match self {
            Keyset::Start => None,
            Keyset::After { seq, key } | Keyset::Before { seq, key } => Some((*seq, key)),
        }
    }
}

/// One page of a list, its rows read as `R` (documents, or stored text where there is some).
#[derive(Debug)]
pub struct ListPage<R = ResourceRow> {
    /// Every match, not only this page's; `None` when a keyset page stopped its scan early.
    pub total: Option<u64>,
    /// The page's rows.
    pub rows: Vec<R>,
    /// With `sortBy` on a keyset page, each row's sort key (for the next page's start).
    pub keys: Vec<Option<SortKey>>,
    /// On a keyset page: whether matches lie beyond the page in its direction (after its last
    /// row, or for [`Keyset::Before`] before its first).
    pub more: bool,
}

/// A rendered list page: what `GET /{Resources}` and `.search` answer, before projection; its
/// resources as JSON trees, or (`Page<String>`) as JSON text when no projection applies.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Page<I = Value> {
    /// Every match, not only this page's (`totalResults`); `None` when not known (a keyset
    /// page whose filter scan stopped early: RFC 9865 §2 lets `totalResults` be left out).
    pub total: Option<u64>,
    /// The page's resources, fully rendered; fewer than asked for when [`PAGE_BYTES`] ended
    /// the page.
    pub resources: Vec<I>,
    /// On a keyset page with matches after it: where the next page starts (right after the
    /// last resource returned, also when [`PAGE_BYTES`] cut the page short).
    pub next: Option<Keyset>,
    /// The `nextCursor` (RFC 9865 §2), when the request came with a `cursor` and this is not
    /// the last page (nor a `count=0` one, which returns no resources to continue from).
    pub next_cursor: Option<String>,
    /// On a keyset page that is not the first: where the previous page ends (right before the
    /// first resource returned).
    pub prev: Option<Keyset>,
    /// The `previousCursor` (RFC 9865 §2), never on the first page.
    pub previous_cursor: Option<String>,
}

/// What a resource type tells the list machinery.
pub trait Listed {
    /// Its table.
    const KIND: Kind;
    /// Its schema.
    fn resource_type() -> &'static ResourceType;
    /// The representation filters and sort keys are evaluated on; `related` says whether the
    /// filter or sort needs the attribute that lives outside the document (User `groups`,
    /// Group `members`).
    fn for_filter(c: &Connection, row: &ResourceRow, base: &str, related: bool) -> Result<Value, StoreError>;
    /// The names of those attributes.
    const RELATED: &'static [&'static str];
    /// The rows an index finds for one top-level equality term, if the term is indexed.
    fn lookup(c: &Connection, term: &EqTerm) -> Result<Option<Vec<ResourceRow>>, StoreError>;
}

/// A top-level `attr[.sub] eq "value"` term of a filter (also `attr[value eq "v"]`), names
/// lower-cased, core-schema attributes only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EqTerm {
    /// The attribute.
    pub attr: String,
    /// The sub-attribute, if any.
    pub sub: Option<String>,
    /// The compared value.
    pub value: String,
}

/// Checks a filter and sort attribute against the resource type's schemas.
pub fn check_query(rt: &ResourceType, q: &ListQuery) -> Result<()> {
    if let Some(f) = &q.filter {
        f.check(rt)?;
    }
    if let Some(s) = &q.sort_by {
        let r = s.resolve(rt).map_err(|e| Error::invalid(format!("sortBy: {}", e.detail)))?;
        if r.is_hidden() {
            return Err(Error::invalid(format!("sortBy: \"{s}\" is never returned and cannot be sorted on")));
        }
    }
    Ok(())
}

/// Filters, sorts and pages (see the module documentation).
pub fn list_rows<T: Listed, R: FromRow>(c: &Connection, q: &ListQuery, base: &str) -> Result<ListPage<R>, StoreError> {
    // A keyset page of nothing is a request for the total (RFC 9865 §2 `count`): index paging
    // answers it the same, and counts every match.
    let keyset = q.keyset.as_ref().filter(|_| q.count > 0);
    let backward = matches!(keyset, Some(Keyset::Before { .. }));
    let pivot_seq = keyset.and_then(Keyset::pivot).map_or(i64::MIN, |(seq, _)| seq);
    let want = q.count.saturating_add(1); // one more than the page: whether more follow
    let offset = q.start_index.saturating_sub(1);
    if q.filter.is_none() && q.sort_by.is_none() {
        // One snapshot: the total and the page agree even while writes commit.
        return rows::snapshot(c, || {
            let counted = rows::count(c, T::KIND)?;
            let total = Some(counted);
            if keyset.is_some() {
                let mut rows = match backward {
                    true => rows::page_before(c, T::KIND, pivot_seq, want)?, // nearest first
                    false => rows::page_after(c, T::KIND, pivot_seq, want)?,
                };
                let more = rows.len() as u64 > q.count;
                rows.truncate(usize::try_from(q.count).unwrap_or(usize::MAX));
                if backward {
                    rows.reverse();
                }
                return Ok(ListPage { total, rows, keys: Vec::new(), more });
            }
            let rows = rows::page_counted(c, T::KIND, offset, q.count, counted)?;
            Ok(ListPage { total, rows, keys: Vec::new(), more: false })
        });
    }
    let related = T::RELATED.iter().any(|attr| {
        q.filter.as_ref().is_some_and(|f| mentions(f, attr))
            || q.sort_by.as_ref().is_some_and(|p| p.name.eq_ignore_ascii_case(attr))
    });
    let rt = T::resource_type();
    // A keyset page without a sort that scans stops once it has its rows and one more.
    let early = keyset.is_some() && q.sort_by.is_none();
    let mut hits: Vec<(Option<SortKey>, i64)> = Vec::new();
    let mut visit = |row: ResourceRow, filter: Option<&Filter>| {
        let res = T::for_filter(c, &row, base, related)?;
        if filter.is_none_or(|f| f.matches(rt, &res)) {
            hits.push((q.sort_by.as_ref().and_then(|p| sort_key(rt, p, &res)), row.seq));
        }
        Ok::<bool, StoreError>(!early || (hits.len() as u64) < want)
    };
    let mut counted = true;
    match indexed::<T>(c, q.filter.as_ref(), rt)? {
        // The index decided its term exactly: by the same key as uniqueness (a userName's
        // trimmed NFC folded form, which the evaluator's plain case folding would not match),
        // or folding case as the evaluator does. Only the rest of the filter is evaluated, and
        // when nothing is left and no sort asks for values, the rows need no rendering. This
        // keeps Entra's `members[value eq "<id>"]` lookup from loading a 100,000-member group.
        Some((found, rest)) if rest.is_none() && q.sort_by.is_none() => {
            hits.extend(found.into_iter().map(|r| (None, r.seq)));
        }
        // Index lookups answer in their own order, so even a keyset page reads them all (they
        // are few: the index narrowed them), which also gives the total.
        Some((found, rest)) => found.into_iter().try_for_each(|row| visit(row, rest.as_ref()).map(|_| ()))?,
        None if early => {
            let need = q.filter.as_ref().and_then(|f| prefilter::text_need(f, rt, T::RELATED));
            let visit = |row| visit(row, q.filter.as_ref());
            match backward {
                true => rows::scan_before(c, T::KIND, pivot_seq, need.as_ref(), visit)?,
                false => rows::scan_after(c, T::KIND, pivot_seq, need.as_ref(), visit)?,
            }
            counted = false;
        }
        None => {
            let need = q.filter.as_ref().and_then(|f| prefilter::text_need(f, rt, T::RELATED));
            rows::scan(c, T::KIND, need.as_ref(), &mut |row| visit(row, q.filter.as_ref()).map(|_| ()))?;
        }
    }
    let desc = q.sort_order == SortOrder::Descending;
    let order = |(a, sa): &(Option<SortKey>, i64), (b, sb): &(Option<SortKey>, i64)| {
        cmp_sort_keys(a.as_ref(), b.as_ref(), desc).then(sa.cmp(sb))
    };
    if q.sort_by.is_some() {
        hits.sort_by(order);
    } else if keyset.is_some() {
        hits.sort_by_key(|(_, seq)| *seq);
    }
    let total = counted.then_some(hits.len() as u64);
    let page = usize::try_from(q.count).unwrap_or(usize::MAX);
    let (window, more): (Vec<(Option<SortKey>, i64)>, bool) = match keyset {
        None => (hits.into_iter().skip(usize::try_from(offset).unwrap_or(usize::MAX)).take(page).collect(), false),
        Some(at) => {
            // Where each match lies against the pivot, in the list's order.
            let against = |h: &(Option<SortKey>, i64)| match at.pivot() {
                None => Ordering::Greater,
                Some((seq, key)) if q.sort_by.is_some() => order(h, &(key.clone(), seq)),
                Some((seq, _)) => h.1.cmp(&seq),
            };
            let (start, end, more) = if backward {
                let end = hits.partition_point(|h| against(h) == Ordering::Less);
                let start = end.saturating_sub(page);
                (start, end, start > 0)
            } else {
                let start = hits.partition_point(|h| against(h) != Ordering::Greater);
                let end = start.saturating_add(page).min(hits.len());
                (start, end, hits.len() > end)
            };
            (hits.into_iter().take(end).skip(start).collect(), more)
        }
    };
    let (keys, seqs): (Vec<Option<SortKey>>, Vec<i64>) = window.into_iter().unzip();
    let keys = if keyset.is_some() && q.sort_by.is_some() { keys } else { Vec::new() };
    Ok(ListPage { total, rows: rows::by_seqs_as(c, T::KIND, &seqs)?, keys, more })
}

/// A list page of `T`, each row rendered by `render`, after checking the query: what
/// `GET /{Resources}` and `.search` answer. A `cursor` is read here ([`cursor::open`]) and the
/// page carries the next and the previous one.
///
/// Rows are read as `R` and rendered as `I`: documents into trees (what a projection works
/// on), or stored text into text (a default read, issue 17: see [`crate::db::stored`]).
pub async fn list_rendered<T: Listed, R: FromRow + Send + 'static, I: Item + Send + 'static>(
    db: &Db,
    mut q: ListQuery,
    base: String,
    render: impl Fn(&Connection, &mut R, &str) -> Result<I, StoreError> + Send + 'static,
) -> Result<Page<I>> {
    check_query(T::resource_type(), &q)?;
    let walk = match q.cursor.take() {
        Some(raw) => {
            let walk = cursor::open(Scope::of(T::KIND), &raw, &q)?;
            q.keyset = Some(walk.from.at.clone());
            Some(walk)
        }
        None => None,
    };
    let point = at_most_one(T::resource_type(), &q);
    let budget = q.max_bytes.unwrap_or(PAGE_BYTES);
    let work = move |c: &Connection| {
        let mut listed = list_rows::<T, R>(c, &q, &base)?;
        if matches!(q.keyset, Some(Keyset::Before { .. })) && listed.rows.is_empty() && q.count > 0 {
            // Nothing is left before the page the client came from (deleted since): the page
            // before it is the first one.
            q.keyset = Some(Keyset::Start);
            listed = list_rows::<T, R>(c, &q, &base)?;
        }
        let ListPage { total, mut rows, keys, more } = listed;
        // A page going back fills from its end, so that it meets the page the client came from.
        let backward = matches!(q.keyset, Some(Keyset::Before { .. }));
        let mut order: Vec<usize> = (0..rows.len()).collect();
        if backward {
            order.reverse();
        }
        let mut taken: Vec<(usize, I)> = Vec::with_capacity(rows.len());
        let mut used = 0;
        for i in order {
            let resource = render(c, &mut rows[i], &base)?;
            used += resource.json_len();
            if used > budget && !taken.is_empty() {
                break; // the page stops here (see PAGE_BYTES)
            }
            taken.push((i, resource));
        }
        if backward {
            taken.reverse();
        }
        // A keyset page continues right after its last resource, also when the budget cut it,
        // and goes back from right before its first, unless it is the first page.
        let cut = taken.len() < rows.len();
        let at = |i: usize| (rows[i].seq(), keys.get(i).cloned().flatten());
        let (first, last) = (taken.first().map(|(i, _)| at(*i)), taken.last().map(|(i, _)| at(*i)));
        let resources: Vec<I> = taken.into_iter().map(|(_, r)| r).collect();
        let (next, prev) = match &q.keyset {
            None => (None, None),
            Some(Keyset::Before { .. }) => (last, first.filter(|_| more || cut)),
            Some(Keyset::After { .. }) => (last.filter(|_| more || cut), first),
            Some(Keyset::Start) => (last.filter(|_| more || cut), None),
        };
        let next = next.map(|(seq, key)| Keyset::After { seq, key });
        let prev = prev.map(|(seq, key)| Keyset::Before { seq, key });
        Ok(Page { total, resources, next, next_cursor: None, prev, previous_cursor: None })
    };
    let mut page = if point { db.read_now(work).await? } else { db.read(work).await? };
    if let Some(walk) = walk {
        let cursor = |at: Option<Keyset>| at.map(|at| walk.cursor(Position { part: Scope::of(T::KIND), at }));
        page.next_cursor = cursor(page.next.clone());
        page.previous_cursor = cursor(page.prev.clone());
    }
    Ok(page)
}

/// A rendered resource of a list page, as far as the page's byte budget ([`PAGE_BYTES`]) is
/// concerned.
pub trait Item {
    /// Its length as compact JSON.
    fn json_len(&self) -> usize;
}

impl Item for Value {
    fn json_len(&self) -> usize {
        json_len(self)
    }
}

/// Compact JSON text (as bytes: a stored body is not checked for UTF-8 again).
impl Item for Vec<u8> {
    fn json_len(&self) -> usize {
        self.len()
    }
}

/// The length of `v` as compact JSON, without building the text.
pub fn json_len(v: &Value) -> usize {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut n = Count(0);
    let _ = serde_json::to_writer(&mut n, v);
    n.0
}

/// Whether the query's filter is one equality on a User's unique key (`id`, `userName`), so that
/// it finds at most one row through an index: IdPs' usual lookup, short enough to run in place
/// ([`Db::read_now`]).
fn at_most_one(rt: &ResourceType, q: &ListQuery) -> bool {
    let unique = |p: &AttrPath| {
        p.sub.is_none()
            && in_core(p, rt)
            && (p.name.eq_ignore_ascii_case("userName") || p.name.eq_ignore_ascii_case("id"))
    };
    rt.name == USER_RESOURCE.name
        && q.sort_by.is_none()
        && matches!(&q.filter, Some(Filter::Compare(p, CompareOp::Eq, Literal::String(_))) if unique(p))
}

/// The unique key a query looks its users up by, when its whole filter is `userName eq "…"` or
/// `id eq "…"` (core attributes, no sort): the users it finds are at most one (a userName's
/// uniqueness key, or an id), so a default read may answer it from that key alone (issue 17,
/// `service::stored`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Point<'a> {
    /// `id eq` this.
    Id(&'a str),
    /// `userName eq` this.
    UserName(&'a str),
}

/// [`Point`] of a query over `rt` (Users only).
pub fn point<'q>(rt: &ResourceType, q: &'q ListQuery) -> Option<Point<'q>> {
    if !at_most_one(rt, q) {
        return None;
    }
    match &q.filter {
        Some(Filter::Compare(p, CompareOp::Eq, Literal::String(v))) if p.name.eq_ignore_ascii_case("id") => {
            Some(Point::Id(v))
        }
        Some(Filter::Compare(_, CompareOp::Eq, Literal::String(v))) => Some(Point::UserName(v)),
        _ => None,
    }
}

/// What an index answered: the rows its term finds, and the rest of the filter.
type Indexed = (Vec<ResourceRow>, Option<Filter>);

/// The rows the first indexed equality term finds, and the rest of the filter, without that
/// term (`None` when the term was the whole filter).
fn indexed<T: Listed>(c: &Connection, f: Option<&Filter>, rt: &ResourceType) -> Result<Option<Indexed>, StoreError> {
    let Some(f) = f else { return Ok(None) };
    let mut terms = Vec::new();
    eq_terms(f, rt, &mut terms);
    for term in &terms {
        if let Some(found) = T::lookup(c, term)? {
            return Ok(Some((found, without(f, term, rt))));
        }
    }
    // Any other string attribute: the attribute index (`db::attr_index`, issue 17) finds the
    // rows its plan for the filter can match (`eq`, `sw`; `and` intersects, `or` unites). Its
    // keys only narrow (a key is cut to 200 bytes; `emails[type eq "work" and value eq "x"]`
    // may meet in two values), so the whole filter is evaluated on what it finds.
    if let Some(plan) = filter_index::plan(f, rt, attr_index::leaves(T::KIND))
        && let Some(seqs) = attr_index::find(c, T::KIND, &plan)?
    {
        return Ok(Some((rows::by_seqs(c, T::KIND, &seqs)?, Some(f.clone()))));
    }
    Ok(None)
}

/// `f` without its top-level `and` terms equal to `decided` (an index answered them); `None`
/// when nothing else is left.
fn without(f: &Filter, decided: &EqTerm, rt: &ResourceType) -> Option<Filter> {
    if let Filter::And(a, b) = f {
        return match (without(a, decided, rt), without(b, decided, rt)) {
            (Some(a), Some(b)) => Some(Filter::And(Box::new(a), Box::new(b))),
            (one, None) | (None, one) => one,
        };
    }
    let mut own = Vec::new();
    eq_terms(f, rt, &mut own);
    (own.first() != Some(decided)).then(|| f.clone())
}

/// Whether `p` names an attribute of the resource type's core schema (unqualified, or qualified
/// with that schema's URN).
fn in_core(p: &AttrPath, rt: &ResourceType) -> bool {
    p.urn.as_deref().is_none_or(|u| u.eq_ignore_ascii_case(rt.schema.id))
}

/// Collects the top-level `and` terms that compare a core attribute for equality with a string.
fn eq_terms(f: &Filter, rt: &ResourceType, out: &mut Vec<EqTerm>) {
    let core = |p: &AttrPath| in_core(p, rt);
    let term = |p: &AttrPath, sub: Option<&str>, v: &str| EqTerm {
        attr: p.name.to_ascii_lowercase(),
        sub: sub.map(str::to_ascii_lowercase),
        value: v.to_owned(),
    };
    match f {
        Filter::And(a, b) => {
            eq_terms(a, rt, out);
            eq_terms(b, rt, out);
        }
        Filter::Compare(p, CompareOp::Eq, Literal::String(v)) if core(p) => out.push(term(p, p.sub.as_deref(), v)),
        Filter::ValuePath(p, inner) if core(p) && p.sub.is_none() => {
            if let Filter::Compare(s, CompareOp::Eq, Literal::String(v)) = inner.as_ref()
                && s.urn.is_none()
                && s.sub.is_none()
            {
                out.push(term(p, Some(&s.name), v));
            }
        }
        _ => {}
    }
}

/// Whether any path of the filter names the top-level attribute `attr`.
fn mentions(f: &Filter, attr: &str) -> bool {
    match f {
        Filter::And(a, b) | Filter::Or(a, b) => mentions(a, attr) || mentions(b, attr),
        Filter::Not(a) => mentions(a, attr),
        Filter::Present(p) | Filter::Compare(p, _, _) | Filter::ValuePath(p, _) => p.name.eq_ignore_ascii_case(attr),
    }
}
