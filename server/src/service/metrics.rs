//! The figures of `/metrics` that are read when scraped (see [`crate::metrics`]).

use std::path::Path;

use super::Result;
use crate::db::{Db, events, stats};
use crate::metrics::Gauges;

/// Users by active state, groups and live token names (one read transaction), the feed's newest
/// event sequence number, each webhook's lag, and the database's size on disk (the file and its
/// WAL; on PostgreSQL the database's size as the server counts it, and no WAL of its own). The
/// journal's figures are the caller's: they live in its recorder.
pub async fn gauges(db: &Db, path: &Path) -> Result<Gauges> {
    let found = db.read(stats::population).await?;
    let event_seq = db.read(events::newest).await?;
    let on_server = db.read(stats::server_size).await?;
    let size = |p: &Path| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
    let wal = format!("{}-wal", path.display());
    Ok(Gauges {
        users_active: found.users_active,
        users_inactive: found.users_inactive,
        groups: found.groups,
        tokens: found.tokens,
        database_bytes: on_server.unwrap_or_else(|| size(path)),
        wal_bytes: size(Path::new(&wal)),
        webhook_lag: super::webhooks::lags(db).await?,
        event_seq: u64::try_from(event_seq).unwrap_or(0),
        ..Gauges::default()
    })
}
