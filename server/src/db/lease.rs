//! The webhook delivery lease (issue 18): which process delivers webhooks, so that several
//! `scimbox serve` on one database do not all send every event.
//!
//! On SQLite one process owns the file, so the lease is always held. On PostgreSQL it is a
//! session advisory lock on a connection of its own ([`pg::lease`]): at most one instance holds
//! it, PostgreSQL frees it when the holder's session ends (its process died, it closed the
//! connection), and the holder learns of a lost connection from [`Lease::is_lost`] (free, for
//! frequent looks) and [`Lease::check`] (one round trip within [`pg::lease::CHECK_TIMEOUT`]).
//! What to do while holding it is the caller's ([`crate::webhooks`]); this module only answers
//! whether it is held, and never reads the clock.

use std::sync::Arc;

use super::sql::{Dialect, OptionalExtension};
use super::{Db, StoreError, pg};

/// A claim to be the one process that delivers webhooks (see the module documentation).
pub struct Lease {
    inner: Inner,
}

enum Inner {
    /// SQLite: the process that has the file open delivers.
    File,
    /// PostgreSQL: the advisory lock, once taken.
    Pg(pg::lease::PgLease),
}

/// Who holds the webhook lease, as the database sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Holder {
    /// SQLite: the `scimbox serve` running on the file, if one is.
    File,
    /// PostgreSQL: nobody (no `serve` runs, or the holder just died and another takes over).
    Nobody,
    /// PostgreSQL: the instance whose lock connection is named `name` (`scimbox webhooks`, its
    /// listen address and process id), connected from `address`.
    Instance {
        /// The lock connection's `application_name`.
        name: String,
        /// Its client address as the server sees it (`local` for a Unix socket).
        address: String,
    },
}

impl Db {
    /// A contender for the webhook lease, not holding it yet ([`Lease::try_hold`]); `instance`
    /// names this process to [`Db::webhook_holder`] (PostgreSQL's `application_name`).
    pub fn webhook_lease(&self, instance: &str) -> Lease {
        let inner = match &self.pg {
            Some(engine) => Inner::Pg(pg::lease::PgLease::new(Arc::clone(engine), instance)),
            None => Inner::File,
        };
        Lease { inner }
    }

    /// Who holds the webhook lease now.
    pub async fn webhook_holder(&self) -> Result<Holder, StoreError> {
        self.read(|c| {
            if c.dialect() == Dialect::Sqlite {
                return Ok(Holder::File);
            }
            let key = pg::lease::WEBHOOK_LOCK;
            // pg_locks shows a bigint key as its high and low 32 bits; advisory locks are per
            // database, and the cluster may hold others.
            let found = c
                .query_row(
                    "SELECT a.application_name, coalesce(host(a.client_addr), 'local')
                     FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
                     WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
                       AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
                       AND l.classid::bigint = ?1 AND l.objid::bigint = ?2",
                    [key >> 32, key & 0xffff_ffff],
                    |r| Ok((r.get::<_, Option<String>>(0)?, r.get::<_, String>(1)?)),
                )
                .optional()?;
            Ok(match found {
                Some((name, address)) => Holder::Instance { name: name.unwrap_or_default(), address },
                None => Holder::Nobody,
            })
        })
        .await
    }
}

impl Lease {
    /// Whether other processes contend for it (PostgreSQL): on SQLite it is always this one's.
    pub fn is_contended(&self) -> bool {
        matches!(self.inner, Inner::Pg(_))
    }

    /// Takes the lease if nobody holds it; whether this process holds it now (asking again
    /// while holding it checks it, as [`Lease::check`]). An error means the database could not
    /// be asked; the lease is not held then.
    pub async fn try_hold(&mut self) -> Result<bool, StoreError> {
        match &mut self.inner {
            Inner::File => Ok(true),
            Inner::Pg(l) => l.try_hold().await,
        }
    }

    /// Whether the lease is known lost without asking the database (its connection closed, or
    /// it was never taken); free to ask often.
    pub fn is_lost(&self) -> bool {
        match &self.inner {
            Inner::File => false,
            Inner::Pg(l) => l.is_lost(),
        }
    }

    /// Asks the database whether the lease is still held; an error says why it is lost (it
    /// is given up then, so that nobody holds it twice).
    pub async fn check(&mut self) -> Result<(), StoreError> {
        match &mut self.inner {
            Inner::File => Ok(()),
            Inner::Pg(l) => l.check().await,
        }
    }
}
