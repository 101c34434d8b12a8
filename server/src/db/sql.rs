//! The storage seam: every SQL call of the server goes through these types, so that a second
//! engine (PostgreSQL, issue 18) plugs in here, behind the same names, rather than in every
//! module that runs a query.
//!
//! The types mirror the subset of rusqlite the code uses (`Connection::execute`, `query_row`,
//! `prepare_cached`, `Row::get`, `params!`, `.optional()`), so a module moves onto the seam by
//! its `use` line. Each type wraps the engine's own value, and each method is one `match` on the
//! engine and a direct call: no boxing, no allocation per call or per row, parameters handed to
//! rusqlite as they are (see [`Params`]).
//!
//! Errors are one type, [`Error`], with the kinds the code decides on (no row, a constraint,
//! a conversion) and the rest as text; a SQLite fault that means the store cannot take writes
//! (a full disk, a read-only file) keeps that reason for [`super::StoreError::Unavailable`].
//!
//! What only SQLite has (backups, checkpoints, PRAGMAs, custom SQL functions, the migration
//! runner) reaches the rusqlite connection through `Connection::sqlite`, inside `db` only;
//! nothing outside `db` names rusqlite (`tests/api/architecture.rs` checks).

use std::ops::Deref;

use super::pg::{self, PgConn};
use super::pg_value::{Cell, Param};

/// A result whose error is [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong in a SQL call, by the kinds storage decides on.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A query that must return a row returned none ([`OptionalExtension::optional`] turns it
    /// into `None`).
    #[error("Query returned no rows")]
    NoRows,
    /// A constraint refused the change (UNIQUE, NOT NULL, CHECK, FOREIGN KEY); the text is the
    /// engine's, which names the index or column (`UNIQUE constraint failed: users.user_name_key`).
    #[error("{0}")]
    Constraint(String),
    /// A column's value does not convert to the type asked for.
    #[error("{0}")]
    Conversion(String),
    /// The store cannot take writes for now; `reason` says why in an operator's words (see
    /// [`super::health::unavailable`]), `text` is the engine's message.
    #[error("{text}")]
    Unavailable {
        /// Why, for [`super::StoreError::Unavailable`].
        reason: &'static str,
        /// The engine's message.
        text: String,
    },
    /// An operation the connection's engine does not have (a SQLite-only one on another engine).
    #[error("{0} needs SQLite")]
    Unsupported(&'static str),
    /// Any other failure, as the engine words it.
    #[error("{0}")]
    Other(String),
}

impl Error {
    /// Whether this is a UNIQUE (or other constraint) violation whose message names `column`.
    pub fn is_constraint_on(&self, column: &str) -> bool {
        matches!(self, Self::Constraint(msg) if msg.contains(column))
    }
}

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Self {
        use rusqlite::Error as E;
        match e {
            E::QueryReturnedNoRows => Self::NoRows,
            E::SqliteFailure(f, msg) if f.code == rusqlite::ErrorCode::ConstraintViolation => {
                Self::Constraint(msg.unwrap_or_else(|| f.to_string()))
            }
            E::FromSqlConversionFailure(..) | E::IntegralValueOutOfRange(..) | E::InvalidColumnType(..) => {
                Self::Conversion(e.to_string())
            }
            e => match super::health::unavailable(&e) {
                Some(reason) => Self::Unavailable { reason, text: e.to_string() },
                None => Self::Other(e.to_string()),
            },
        }
    }
}

impl From<pg::Failure> for Error {
    fn from(f: pg::Failure) -> Self {
        match f {
            pg::Failure::Unique(t) | pg::Failure::Constraint(t) => Self::Constraint(t),
            pg::Failure::Unavailable(text) => {
                let reason = if text.starts_with("25006") {
                    "the PostgreSQL database is read-only"
                } else {
                    "the PostgreSQL database is unreachable"
                };
                Self::Unavailable { reason, text }
            }
            pg::Failure::Other(t) => Self::Other(t),
        }
    }
}

/// `.optional()`: a query's "no row" as `None` instead of an error.
pub trait OptionalExtension<T> {
    /// `Ok(None)` for [`Error::NoRows`], the rest unchanged.
    fn optional(self) -> Result<Option<T>>;
}

impl<T> OptionalExtension<T> for Result<T> {
    #[inline]
    fn optional(self) -> Result<Option<T>> {
        match self {
            Ok(v) => Ok(Some(v)),
            Err(Error::NoRows) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

/// A value that can be bound as a parameter. Object safe (`&dyn ToSql`, as `params!` makes).
/// Today every rusqlite parameter type is one; another engine adds its own requirement here.
pub trait ToSql: rusqlite::ToSql {}

impl<T: rusqlite::ToSql + ?Sized> ToSql for T {}

/// A value that can be read from a column ([`Row::get`]).
pub trait FromSql: rusqlite::types::FromSql {}

impl<T: rusqlite::types::FromSql> FromSql for T {}

/// A column's position (`usize`) or name (`&str`) in a [`Row`].
pub trait RowIndex: rusqlite::RowIndex {
    /// The position among a PostgreSQL result's column names.
    #[doc(hidden)]
    fn position(&self, names: &[String]) -> Option<usize>;
}

impl RowIndex for usize {
    #[inline]
    fn position(&self, names: &[String]) -> Option<usize> {
        (*self < names.len()).then_some(*self)
    }
}

impl RowIndex for &str {
    fn position(&self, names: &[String]) -> Option<usize> {
        names.iter().position(|n| n.eq_ignore_ascii_case(self))
    }
}

/// A dynamically typed parameter, for statements whose arguments are assembled at run time.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// SQL NULL.
    Null,
    /// An integer.
    Integer(i64),
    /// A floating-point number.
    Real(f64),
    /// Text.
    Text(String),
    /// Bytes.
    Blob(Vec<u8>),
}

impl rusqlite::ToSql for Value {
    #[inline]
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::ValueRef;
        Ok(rusqlite::types::ToSqlOutput::Borrowed(match self {
            Self::Null => ValueRef::Null,
            Self::Integer(i) => ValueRef::Integer(*i),
            Self::Real(r) => ValueRef::Real(*r),
            Self::Text(t) => ValueRef::Text(t.as_bytes()),
            Self::Blob(b) => ValueRef::Blob(b),
        }))
    }
}

/// A statement's parameters: `[]`, `[a, b]` (one type), `params!` (mixed types, a slice of
/// `&dyn ToSql`), `&[&dyn ToSql]`, `()`, or [`params_from_iter`].
///
/// Each form is handed to the engine as it is: no copy, no allocation.
pub trait Params {
    /// The same parameters in rusqlite's form.
    #[doc(hidden)]
    type Sqlite: rusqlite::Params;
    /// Converts (moves, never copies the values).
    #[doc(hidden)]
    fn into_sqlite(self) -> Self::Sqlite;
    /// The values as PostgreSQL parameters (`db::pg_value::Param`).
    #[doc(hidden)]
    fn into_pg(self) -> Result<Vec<Param>>;
}

/// One parameter for PostgreSQL.
fn pg_param(v: &dyn rusqlite::ToSql) -> Result<Param> {
    Ok(Param::of(v)?)
}

impl Params for () {
    type Sqlite = ();
    #[inline]
    fn into_sqlite(self) {}
    fn into_pg(self) -> Result<Vec<Param>> {
        Ok(Vec::new())
    }
}

impl Params for [&(dyn ToSql + Send + Sync); 0] {
    type Sqlite = [&'static (dyn rusqlite::ToSql + Send + Sync); 0];
    #[inline]
    fn into_sqlite(self) -> Self::Sqlite {
        []
    }
    fn into_pg(self) -> Result<Vec<Param>> {
        Ok(Vec::new())
    }
}

impl<'a> Params for &'a [&'a dyn ToSql] {
    type Sqlite = rusqlite::ParamsFromIter<std::slice::Iter<'a, &'a dyn ToSql>>;
    #[inline]
    fn into_sqlite(self) -> Self::Sqlite {
        rusqlite::params_from_iter(self.iter())
    }
    fn into_pg(self) -> Result<Vec<Param>> {
        self.iter().map(|p| pg_param(*p)).collect()
    }
}

/// A borrowed array of values (`&[&a as &dyn ToSql, ...]`): bound as the slice it is.
impl<'a, const N: usize> Params for &'a [&'a dyn ToSql; N] {
    type Sqlite = <&'a [&'a dyn ToSql] as Params>::Sqlite;
    #[inline]
    fn into_sqlite(self) -> Self::Sqlite {
        self.as_slice().into_sqlite()
    }
    fn into_pg(self) -> Result<Vec<Param>> {
        self.as_slice().into_pg()
    }
}

macro_rules! array_params {
    ($($n:literal)*) => {$(
        impl<T: ToSql> Params for [T; $n] {
            type Sqlite = [T; $n];
            #[inline]
            fn into_sqlite(self) -> Self::Sqlite {
                self
            }
            fn into_pg(self) -> Result<Vec<Param>> {
                self.iter().map(|p| pg_param(p)).collect()
            }
        }
    )*};
}

array_params!(1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16);

macro_rules! tuple_params {
    ($(($($t:ident)+))*) => {$(
        impl<$($t: ToSql),+> Params for ($($t,)+) {
            type Sqlite = ($($t,)+);
            #[inline]
            fn into_sqlite(self) -> Self::Sqlite {
                self
            }
            #[allow(non_snake_case)]
            fn into_pg(self) -> Result<Vec<Param>> {
                let ($($t,)+) = self;
                Ok(vec![$(pg_param(&$t)?),+])
            }
        }
    )*};
}

tuple_params!((A) (A B) (A B C) (A B C D) (A B C D E) (A B C D E F) (A B C D E F G) (A B C D E F G H));

/// Parameters from an iterator of values (`params_from_iter(args.iter())`).
#[derive(Debug, Clone)]
pub struct ParamsFromIter<I>(I);

/// Binds every item of `iter`, in order, as `?1`, `?2`, ...
#[inline]
pub fn params_from_iter<I>(iter: I) -> ParamsFromIter<I>
where
    I: IntoIterator,
    I::Item: ToSql,
{
    ParamsFromIter(iter)
}

impl<I> Params for ParamsFromIter<I>
where
    I: IntoIterator,
    I::Item: ToSql,
{
    type Sqlite = rusqlite::ParamsFromIter<I>;
    #[inline]
    fn into_sqlite(self) -> Self::Sqlite {
        rusqlite::params_from_iter(self.0)
    }
    fn into_pg(self) -> Result<Vec<Param>> {
        self.0.into_iter().map(|p| pg_param(&p)).collect()
    }
}

/// Parameters of mixed types: `params![id, name, now]` is a `&[&dyn ToSql]`.
macro_rules! params {
    () => {
        &[] as &[&dyn $crate::db::sql::ToSql]
    };
    ($($p:expr),+ $(,)?) => {
        &[$(&$p as &dyn $crate::db::sql::ToSql),+] as &[&dyn $crate::db::sql::ToSql]
    };
}
pub(crate) use params;

/// A connection to the store.
pub struct Connection(Engine, Memo);

/// Counts a read-only connection read, each with the state of the data it read them from
/// ([`Connection::counted`]); unused until [`Connection::remember_counts`].
#[derive(Default)]
struct Memo {
    on: std::cell::Cell<bool>,
    counts: std::cell::RefCell<Vec<Counted>>,
}

/// One remembered count: its key, the data's state (`PRAGMA data_version`) and the answer.
type Counted = (&'static str, i64, i64);

enum Engine {
    Sqlite(rusqlite::Connection),
    Postgres(PgConn),
}

/// Which engine a connection talks to, for the few statements whose dialects differ (they
/// branch on it in `db`, never in the services).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// SQLite (a file).
    Sqlite,
    /// PostgreSQL (a `postgres://` URL).
    Postgres,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0 {
            Engine::Sqlite(_) => f.write_str("Connection(SQLite)"),
            Engine::Postgres(_) => f.write_str("Connection(PostgreSQL)"),
        }
    }
}

impl From<rusqlite::Connection> for Connection {
    fn from(c: rusqlite::Connection) -> Self {
        Self(Engine::Sqlite(c), Memo::default())
    }
}

impl From<PgConn> for Connection {
    fn from(c: PgConn) -> Self {
        Self(Engine::Postgres(c), Memo::default())
    }
}

/// A PostgreSQL query's rows, read whole, with its column names (for [`Row::get`] by name).
fn pg_rows(c: &PgConn, sql: &str, params: Vec<Param>) -> Result<PgRows> {
    let (names, rows) = c.query_named(sql, &params)?;
    Ok(PgRows { names, rows: rows.into_iter(), current: None })
}

impl Connection {
    /// Which engine this connection talks to.
    #[inline]
    pub fn dialect(&self) -> Dialect {
        match &self.0 {
            Engine::Sqlite(_) => Dialect::Sqlite,
            Engine::Postgres(_) => Dialect::Postgres,
        }
    }

    /// The SQLite connection underneath, for what only SQLite has (backup, checkpoints,
    /// PRAGMAs, custom functions, migrations); [`Error::Unsupported`] on another engine.
    #[inline]
    pub(in crate::db) fn sqlite(&self) -> Result<&rusqlite::Connection> {
        match &self.0 {
            Engine::Sqlite(c) => Ok(c),
            Engine::Postgres(_) => Err(Error::Unsupported("this operation")),
        }
    }

    /// [`Connection::sqlite`], mutable (the migration runner takes it so).
    #[inline]
    pub(in crate::db) fn sqlite_mut(&mut self) -> Result<&mut rusqlite::Connection> {
        match &mut self.0 {
            Engine::Sqlite(c) => Ok(c),
            Engine::Postgres(_) => Err(Error::Unsupported("this operation")),
        }
    }

    /// Runs one statement; returns how many rows it changed.
    #[inline]
    pub fn execute<P: Params>(&self, sql: &str, params: P) -> Result<usize> {
        match &self.0 {
            Engine::Sqlite(c) => Ok(c.execute(sql, params.into_sqlite())?),
            Engine::Postgres(c) => Ok(c.execute(sql, &params.into_pg()?)?),
        }
    }

    /// Runs a query and maps its first row with `f`; [`Error::NoRows`] if it has none.
    #[inline]
    pub fn query_row<T, P, F>(&self, sql: &str, params: P, f: F) -> Result<T>
    where
        P: Params,
        F: FnOnce(&Row<'_>) -> Result<T>,
    {
        match &self.0 {
            Engine::Sqlite(c) => first_row(c.query_row(sql, params.into_sqlite(), wrap_once(f))),
            Engine::Postgres(c) => {
                let mut rows = pg_rows(c, sql, params.into_pg()?)?;
                match rows.advance() {
                    Some(row) => f(&row),
                    None => Err(Error::NoRows),
                }
            }
        }
    }

    /// Prepares a statement (parsed each time: for statements run once).
    #[inline]
    pub fn prepare(&self, sql: &str) -> Result<Statement<'_>> {
        match &self.0 {
            Engine::Sqlite(c) => Ok(Statement(Stmt::Plain(c.prepare(sql)?))),
            Engine::Postgres(c) => Ok(Statement(Stmt::Postgres(c, sql.to_owned()))),
        }
    }

    /// Prepares a statement through the connection's cache: parsed once per connection.
    #[inline]
    pub fn prepare_cached(&self, sql: &str) -> Result<CachedStatement<'_>> {
        match &self.0 {
            Engine::Sqlite(c) => Ok(Statement(Stmt::Cached(c.prepare_cached(sql)?))),
            Engine::Postgres(c) => Ok(Statement(Stmt::Postgres(c, sql.to_owned()))),
        }
    }

    /// Runs statements separated by `;`, without parameters or results.
    #[inline]
    pub fn execute_batch(&self, sql: &str) -> Result<()> {
        match &self.0 {
            Engine::Sqlite(c) => Ok(c.execute_batch(sql)?),
            Engine::Postgres(c) => Ok(c.execute_batch(sql)?),
        }
    }

    /// Lets [`Connection::counted`] remember counts: only for a connection that never writes
    /// (the read pool's, `PRAGMA query_only`), whose data changes only by other connections'
    /// commits, which `PRAGMA data_version` tells.
    pub(in crate::db) fn remember_counts(&self) {
        self.1.on.set(true);
    }

    /// The answer of `count`, a query that follows from the data alone (a table's row count),
    /// remembered under `key` for as long as this connection reads the same data: a list page
    /// needs its table's count, which SQLite answers by reading every leaf of an index, about
    /// 2,000 pages at a million users (issue 17, third round).
    ///
    /// Only on a SQLite read connection (`Connection::remember_counts`) inside a transaction
    /// (one snapshot, such as a list's read savepoint): there the state of the data is
    /// `PRAGMA data_version`, read in the same snapshot as the count, which changes whenever
    /// another connection committed since this one last read (sqlite.org/pragma.html#pragma_data_version).
    /// Otherwise (outside a transaction, on the writer, on PostgreSQL) `count` runs every time.
    pub fn counted(&self, key: &'static str, count: impl FnOnce() -> Result<i64>) -> Result<i64> {
        let Engine::Sqlite(c) = &self.0 else { return count() };
        if !self.1.on.get() || c.is_autocommit() {
            return count();
        }
        let version: i64 = c.prepare_cached("PRAGMA data_version")?.query_row([], |r| r.get(0))?;
        let known = self.1.counts.borrow().iter().find(|(k, v, _)| *k == key && *v == version).map(|(.., n)| *n);
        if let Some(n) = known {
            return Ok(n);
        }
        let n = count()?;
        let mut memo = self.1.counts.borrow_mut();
        memo.retain(|(k, ..)| *k != key);
        memo.push((key, version, n));
        Ok(n)
    }

    /// Rows changed on this connection since it opened (to tell whether a job changed any). On
    /// PostgreSQL a failed statement counts as one too: it spoils the transaction, which has to
    /// be undone as surely as a changed row ([`super::Db::write_unshielded`]).
    #[inline]
    pub fn total_changes(&self) -> u64 {
        match &self.0 {
            Engine::Sqlite(c) => c.total_changes(),
            Engine::Postgres(c) => c.total_changes(),
        }
    }

    /// Whether the connection is lost (PostgreSQL's, when the server went away); a SQLite file's
    /// never is.
    pub fn is_closed(&self) -> bool {
        match &self.0 {
            Engine::Sqlite(_) => false,
            Engine::Postgres(c) => c.is_closed(),
        }
    }

    /// Whether no transaction is open (one that the engine rolled back on its own ends so).
    #[inline]
    pub fn is_autocommit(&self) -> bool {
        match &self.0 {
            Engine::Sqlite(c) => c.is_autocommit(),
            Engine::Postgres(c) => !c.in_transaction(),
        }
    }

    /// Begins a (deferred) transaction, rolled back when dropped unless committed.
    pub fn transaction(&mut self) -> Result<Transaction<'_>> {
        self.execute_batch(match self.dialect() {
            Dialect::Sqlite => "BEGIN DEFERRED",
            Dialect::Postgres => "BEGIN",
        })?;
        Ok(Transaction { conn: self })
    }
}

/// A transaction ([`Connection::transaction`]): derefs to its connection; rolled back when
/// dropped unless [`Transaction::commit`] ran.
pub struct Transaction<'c> {
    conn: &'c Connection,
}

impl Transaction<'_> {
    /// Commits.
    pub fn commit(self) -> Result<()> {
        self.conn.execute_batch("COMMIT")
    }
}

impl Deref for Transaction<'_> {
    type Target = Connection;
    #[inline]
    fn deref(&self) -> &Connection {
        self.conn
    }
}

impl Drop for Transaction<'_> {
    fn drop(&mut self) {
        if !self.conn.is_autocommit() {
            let _ = self.conn.execute_batch("ROLLBACK");
        }
    }
}

/// A prepared statement ([`Connection::prepare`], [`Connection::prepare_cached`]).
pub struct Statement<'c>(Stmt<'c>);

/// A statement from the connection's cache: the same type as [`Statement`].
pub type CachedStatement<'c> = Statement<'c>;

enum Stmt<'c> {
    Plain(rusqlite::Statement<'c>),
    Cached(rusqlite::CachedStatement<'c>),
    /// PostgreSQL's statements are prepared (and cached) by the connection when they run.
    Postgres(&'c PgConn, String),
}

/// A raw SQLite statement, or the PostgreSQL connection and text to run.
enum Raw<'s, 'c> {
    Sqlite(&'s mut rusqlite::Statement<'c>),
    Postgres(&'c PgConn, &'s str),
}

impl<'c> Statement<'c> {
    #[inline]
    fn raw(&mut self) -> Raw<'_, 'c> {
        match &mut self.0 {
            Stmt::Plain(s) => Raw::Sqlite(s),
            Stmt::Cached(s) => Raw::Sqlite(s),
            Stmt::Postgres(c, sql) => Raw::Postgres(c, sql),
        }
    }

    /// Runs the statement; returns how many rows it changed.
    #[inline]
    pub fn execute<P: Params>(&mut self, params: P) -> Result<usize> {
        match self.raw() {
            Raw::Sqlite(s) => Ok(s.execute(params.into_sqlite())?),
            Raw::Postgres(c, sql) => Ok(c.execute(sql, &params.into_pg()?)?),
        }
    }

    /// Runs an `INSERT` of one row into a table keyed by `seq` (users, groups, events) and returns
    /// the new row's `seq`, in one round trip: SQLite's `last_insert_rowid()` is a function call
    /// inside scimbox (`seq` is the rowid there), PostgreSQL's statement is sent as `... RETURNING
    /// seq` (a second statement, `SELECT lastval()`, was one round trip more per insert: issue 17/18
    /// follow-up). An insert that adds no row (`ON CONFLICT DO NOTHING`) is [`Error::NoRows`].
    #[inline]
    pub fn insert_seq<P: Params>(&mut self, params: P) -> Result<i64> {
        match self.raw() {
            Raw::Sqlite(s) => match s.insert(params.into_sqlite()) {
                Err(rusqlite::Error::StatementChangedRows(0)) => Err(Error::NoRows),
                out => Ok(out?),
            },
            Raw::Postgres(c, sql) => Ok(c.insert_seq(sql, &params.into_pg()?)?.ok_or(Error::NoRows)?),
        }
    }

    /// Runs the query and maps its first row with `f`; [`Error::NoRows`] if it has none.
    #[inline]
    pub fn query_row<T, P, F>(&mut self, params: P, f: F) -> Result<T>
    where
        P: Params,
        F: FnOnce(&Row<'_>) -> Result<T>,
    {
        match self.raw() {
            Raw::Sqlite(s) => first_row(s.query_row(params.into_sqlite(), wrap_once(f))),
            Raw::Postgres(c, sql) => match pg_rows(c, sql, params.into_pg()?)?.advance() {
                Some(row) => f(&row),
                None => Err(Error::NoRows),
            },
        }
    }

    /// Runs the query; its rows, one at a time.
    #[inline]
    pub fn query<P: Params>(&mut self, params: P) -> Result<Rows<'_>> {
        match self.raw() {
            Raw::Sqlite(s) => Ok(Rows(RowsOf::Sqlite(s.query(params.into_sqlite())?))),
            Raw::Postgres(c, sql) => Ok(Rows(RowsOf::Postgres(pg_rows(c, sql, params.into_pg()?)?))),
        }
    }

    /// Runs the query; its rows, each mapped with `f`.
    #[inline]
    pub fn query_map<T, P, F>(&mut self, params: P, f: F) -> Result<MappedRows<'_, F>>
    where
        P: Params,
        F: FnMut(&Row<'_>) -> Result<T>,
    {
        Ok(MappedRows { rows: self.query(params)?, f })
    }

    /// Whether the query returns a row.
    #[inline]
    pub fn exists<P: Params>(&mut self, params: P) -> Result<bool> {
        match self.raw() {
            Raw::Sqlite(s) => Ok(s.exists(params.into_sqlite())?),
            Raw::Postgres(c, sql) => Ok(!c.query(sql, &params.into_pg()?)?.is_empty()),
        }
    }
}

/// `f` as rusqlite's row closure: the result travels inside rusqlite's `Ok`, so that an error
/// of `f` comes back as it was (not through rusqlite's error type).
#[inline]
fn wrap_once<T>(
    f: impl FnOnce(&Row<'_>) -> Result<T>,
) -> impl FnOnce(&rusqlite::Row<'_>) -> rusqlite::Result<Result<T>> {
    move |r| Ok(f(&Row(RowOf::Sqlite(r))))
}

#[inline]
fn first_row<T>(out: rusqlite::Result<Result<T>>) -> Result<T> {
    out?
}

/// A query's rows ([`Statement::query`]).
pub struct Rows<'s>(RowsOf<'s>);

enum RowsOf<'s> {
    Sqlite(rusqlite::Rows<'s>),
    Postgres(PgRows),
}

/// A PostgreSQL result, read whole (`db::pg`), and the row the cursor is on.
struct PgRows {
    names: Vec<String>,
    rows: std::vec::IntoIter<Vec<Cell>>,
    current: Option<Vec<Cell>>,
}

impl PgRows {
    fn advance(&mut self) -> Option<Row<'_>> {
        self.current = self.rows.next();
        let names = &self.names;
        self.current.as_deref().map(|cells| Row(RowOf::Postgres(cells, names)))
    }
}

impl Rows<'_> {
    /// The next row, or `None` after the last.
    #[inline]
    #[allow(clippy::should_implement_trait)] // lending: each row borrows the cursor
    pub fn next(&mut self) -> Result<Option<Row<'_>>> {
        match &mut self.0 {
            RowsOf::Sqlite(r) => Ok(r.next()?.map(|r| Row(RowOf::Sqlite(r)))),
            RowsOf::Postgres(r) => Ok(r.advance()),
        }
    }
}

/// A query's rows, each mapped ([`Statement::query_map`]).
pub struct MappedRows<'s, F> {
    rows: Rows<'s>,
    f: F,
}

impl<T, F> Iterator for MappedRows<'_, F>
where
    F: FnMut(&Row<'_>) -> Result<T>,
{
    type Item = Result<T>;

    #[inline]
    fn next(&mut self) -> Option<Result<T>> {
        match self.rows.next() {
            Ok(Some(r)) => Some((self.f)(&r)),
            Ok(None) => None,
            Err(e) => Some(Err(e)),
        }
    }
}

/// One row of a result.
#[derive(Clone, Copy)]
pub struct Row<'r>(RowOf<'r>);

#[derive(Clone, Copy)]
enum RowOf<'r> {
    Sqlite(&'r rusqlite::Row<'r>),
    /// The cells as SQLite values (`db::pg_value::Cell`) and the result's column names.
    Postgres(&'r [Cell], &'r [String]),
}

impl Row<'_> {
    /// The value of a column, by position or name, converted to `T`.
    #[inline]
    pub fn get<I: RowIndex, T: FromSql>(&self, idx: I) -> Result<T> {
        match self.0 {
            RowOf::Sqlite(r) => Ok(r.get(idx)?),
            RowOf::Postgres(cells, names) => {
                let cell = idx
                    .position(names)
                    .and_then(|i| cells.get(i))
                    .ok_or_else(|| Error::Other("no such column".into()))?;
                T::column_result(cell.as_ref()).map_err(|e| Error::Conversion(e.to_string()))
            }
        }
    }

    /// The bytes of a text (or blob) column as they are stored, borrowed from the row, or
    /// `None` for NULL. Unlike `get::<_, String>`, the text is not checked for UTF-8 again: for
    /// text the server wrote from a `String` and sends on as bytes (issue 17: that check of each
    /// stored body was about 500 instructions a user). Any other type is a conversion error.
    #[inline]
    pub fn get_bytes<I: RowIndex>(&self, idx: I) -> Result<Option<&[u8]>> {
        let value = match self.0 {
            RowOf::Sqlite(r) => r.get_ref(idx)?,
            RowOf::Postgres(cells, names) => idx
                .position(names)
                .and_then(|i| cells.get(i))
                .ok_or_else(|| Error::Other("no such column".into()))?
                .as_ref(),
        };
        value.as_bytes_or_null().map_err(|e| Error::Conversion(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::StoreError;

    fn conn() -> Connection {
        let c = Connection::from(rusqlite::Connection::open_in_memory().unwrap_or_else(|e| panic!("{e}")));
        c.execute_batch("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, n INTEGER)")
            .unwrap_or_else(|e| panic!("{e}"));
        c
    }

    /// Every parameter form the code uses binds in order.
    #[test]
    fn parameters_bind_in_every_form() -> Result<()> {
        let c = conn();
        c.execute("INSERT INTO t (name, n) VALUES ('a', 1)", [])?;
        c.execute("INSERT INTO t (name, n) VALUES (?1, 2)", ["b"])?;
        c.execute("INSERT INTO t (name, n) VALUES (?1, ?2)", params!["c", 3])?;
        c.execute("INSERT INTO t (name, n) VALUES (?1, ?2)", ("d", 4))?;
        c.execute(
            "INSERT INTO t (name, n) VALUES (?1, ?2)",
            params_from_iter([Value::Text("e".into()), Value::Integer(5)]),
        )?;
        let args: Vec<&dyn ToSql> = vec![&"f", &6];
        c.execute("INSERT INTO t (name, n) VALUES (?1, ?2)", args.as_slice())?;
        let mut s = c.prepare_cached("SELECT name FROM t WHERE n >= ?1 ORDER BY n")?;
        let names = s.query_map([1], |r| r.get::<_, String>(0))?.collect::<Result<Vec<_>>>()?;
        assert_eq!(names, ["a", "b", "c", "d", "e", "f"]);
        assert!(s.exists([6])? && !s.exists([7])?);
        Ok(())
    }

    /// No row is its own kind, which `.optional()` turns into `None`; a row is read by position
    /// or by name; a lending cursor reads each row once.
    #[test]
    fn rows_and_no_rows() -> Result<()> {
        let c = conn();
        let none = c.query_row("SELECT n FROM t WHERE name = ?1", ["x"], |r| r.get::<_, i64>(0));
        assert!(matches!(none, Err(Error::NoRows)));
        assert_eq!(c.query_row("SELECT n FROM t", [], |r| r.get::<_, i64>(0)).optional()?, None);
        c.execute("INSERT INTO t (name, n) VALUES ('a', 7)", [])?;
        assert_eq!(c.query_row("SELECT n AS seven FROM t", [], |r| r.get::<_, i64>("seven"))?, 7);
        let mut s = c.prepare("SELECT name, n FROM t")?;
        let mut rows = s.query([])?;
        let mut seen = Vec::new();
        while let Some(r) = rows.next()? {
            seen.push((r.get::<_, String>(0)?, r.get::<_, Option<i64>>(1)?));
        }
        assert_eq!(seen, [("a".to_owned(), Some(7))]);
        Ok(())
    }

    /// The kinds storage decides on: a constraint names its column, a conversion is its own
    /// kind, and an error of the caller's row closure comes back as it was.
    #[test]
    fn errors_by_kind() -> Result<()> {
        let c = conn();
        c.execute("INSERT INTO t (name) VALUES ('a')", [])?;
        let taken = c.execute("INSERT INTO t (name) VALUES ('a')", []).err();
        assert!(taken.as_ref().is_some_and(|e| e.is_constraint_on("t.name")), "{taken:?}");
        assert!(taken.as_ref().is_some_and(|e| !e.is_constraint_on("t.id")));
        assert_eq!(taken.map(|e| e.to_string()).unwrap_or_default(), "UNIQUE constraint failed: t.name");
        let text_as_int = c.query_row("SELECT name FROM t", [], |r| r.get::<_, i64>(0));
        assert!(matches!(text_as_int, Err(Error::Conversion(_))), "{text_as_int:?}");
        let mine = c.query_row("SELECT 1", [], |_| Err::<(), _>(Error::Other("mine".into())));
        assert!(matches!(&mine, Err(Error::Other(t)) if t == "mine"), "{mine:?}");
        let bad = c.execute("SELEKT", []);
        assert!(matches!(&bad, Err(Error::Other(t)) if t.contains("syntax error")), "{bad:?}");
        Ok(())
    }

    /// A full disk (or a read-only file) keeps its reason up to `StoreError::Unavailable`.
    #[test]
    fn a_store_fault_stays_unavailable() {
        let full = rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_FULL), None);
        let e = Error::from(full);
        assert!(matches!(e, Error::Unavailable { reason: "the disk holding the database is full", .. }), "{e:?}");
        assert!(
            matches!(StoreError::from(e), StoreError::Unavailable(r) if r == "the disk holding the database is full")
        );
        assert!(matches!(StoreError::from(Error::NoRows), StoreError::Internal(t) if t == "Query returned no rows"));
    }

    /// A read connection's count is remembered inside a transaction while the data stays the
    /// same, and read again after another connection's commit; outside a transaction, and on a
    /// connection that writes, it is always read.
    #[test]
    fn counts_are_remembered_while_the_data_stays_the_same() -> Result<()> {
        let dir = tempfile::tempdir().map_err(|e| Error::Other(e.to_string()))?;
        let path = dir.path().join("memo.db");
        let open = || -> Result<Connection> {
            let c = Connection::from(rusqlite::Connection::open(&path)?);
            c.execute_batch("PRAGMA journal_mode = WAL")?;
            Ok(c)
        };
        let (a, b) = (open()?, open()?);
        a.execute_batch("CREATE TABLE t (x INTEGER)")?;
        b.execute_batch("PRAGMA query_only = ON")?;
        b.remember_counts();
        let runs = std::cell::Cell::new(0);
        let count = |c: &Connection| -> Result<i64> {
            c.execute_batch("BEGIN")?;
            let n = c.counted("t", || {
                runs.set(runs.get() + 1);
                c.query_row("SELECT COUNT(*) FROM t", [], |r| r.get(0))
            });
            c.execute_batch("COMMIT")?;
            n
        };
        assert_eq!((count(&b)?, count(&b)?, runs.get()), (0, 0, 1), "read once, then remembered");
        a.execute("INSERT INTO t VALUES (1)", [])?;
        assert_eq!((count(&b)?, count(&b)?, runs.get()), (1, 1, 2), "another connection's commit");
        assert_eq!((count(&a)?, count(&a)?, runs.get()), (1, 1, 4), "a writing connection: always read");
        let outside = b.counted("t", || {
            runs.set(runs.get() + 1);
            Ok(9)
        })?;
        assert_eq!((outside, runs.get()), (9, 5), "outside a transaction: always read");
        Ok(())
    }

    /// A transaction is rolled back when dropped, kept when committed.
    #[test]
    fn transactions_roll_back_unless_committed() -> Result<()> {
        let mut c = conn();
        {
            let tx = c.transaction()?;
            tx.execute("INSERT INTO t (name) VALUES ('dropped')", [])?;
        }
        assert!(c.is_autocommit());
        let tx = c.transaction()?;
        tx.execute("INSERT INTO t (name) VALUES ('kept')", [])?;
        tx.commit()?;
        let names =
            c.prepare("SELECT name FROM t")?.query_map([], |r| r.get::<_, String>(0))?.collect::<Result<Vec<_>>>()?;
        assert_eq!(names, ["kept"]);
        Ok(())
    }
}
