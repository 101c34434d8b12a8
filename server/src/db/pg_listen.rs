//! Wake-ups across instances on PostgreSQL (issue 18): `LISTEN`/`NOTIFY`.
//!
//! Several `scimbox serve` on one database each have their own writer, so a writer's "events
//! committed" signal ([`super::events::Notifier`]) and a token write reach only its own process.
//! PostgreSQL carries them to the others: the writer's batch transaction that wrote events also
//! runs `pg_notify('scimbox_events', <highest seq>)` ([`NOTIFY_EVENTS`]), and a token write
//! `pg_notify('scimbox_tokens', '')` ([`NOTIFY_TOKENS`], from [`super::tokens`]). PostgreSQL
//! delivers a notification when (and only if) its transaction commits, to every session
//! listening on the channel, the sender's own included, in commit order (the PostgreSQL
//! manual, `NOTIFY`).
//!
//! Each serving process has one listener (`run`): a connection of its own (not one of the
//! pools', whose connections drop what the server sends unasked), driven on the engine's runtime
//! (`pg::Driver`), that `LISTEN`s on both channels. An event notification moves the process's
//! [`super::events::Notifier`] forward (long polls and webhook workers wake); a token
//! notification bumps [`super::tokens::Changes`] (every cached token check is made again).
//!
//! A notification sent while the listener was not connected is lost, so after every
//! (re)connection, once `LISTEN` holds, it reads the highest committed seq and counts a token
//! change, as if it had been told of everything that happened meanwhile. While it is down the
//! periodic looks remain: long polls look again every second, token checks are cached for half a
//! second. The connection is pinged now and then, so that a peer that vanished without closing
//! it (a network partition) is noticed; reconnection waits a growing pause, and an outage is
//! logged once, as is its end.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio_postgres::AsyncMessage;

use super::pg_tls::MakeRustls;

use super::{events, tokens};

/// The channel of committed events; the payload is the highest committed seq.
pub const EVENTS: &str = "scimbox_events";
/// The channel of token changes; the payload is empty.
pub const TOKENS: &str = "scimbox_tokens";
/// Run by the writer in a batch that wrote events, before its commit: the highest seq as the
/// payload (the batch holds the writers' lock, so its own events are the newest).
pub const NOTIFY_EVENTS: &str = "SELECT pg_notify('scimbox_events', coalesce((SELECT max(seq) FROM events), 0)::text)";
/// Run by a token write ([`super::tokens`]).
pub const NOTIFY_TOKENS: &str = "SELECT pg_notify('scimbox_tokens', '')";

/// The first pause before connecting again; each failure doubles it up to [`LONGEST_PAUSE`].
const FIRST_PAUSE: Duration = Duration::from_millis(100);
/// The longest pause between two attempts to connect.
const LONGEST_PAUSE: Duration = Duration::from_secs(5);
/// How long a connection must have lasted for the pause to start again from [`FIRST_PAUSE`]
/// (a connection that breaks again at once does not make the listener retry at full speed).
const STABLE: Duration = Duration::from_secs(10);
/// How often an idle connection is pinged, and how long the answer may take.
const PING_EVERY: Duration = Duration::from_secs(15);
/// How long connecting (and answering a ping) may take before the attempt counts as failed.
const ANSWER_WITHIN: Duration = Duration::from_secs(15);
/// The listener's `application_name`, which `pg_stat_activity` shows.
pub const APPLICATION_NAME: &str = "scimbox-listener";

/// Where the notifications go: this process's signals.
pub(crate) struct Sinks {
    /// The highest committed event seq.
    pub(crate) events: Arc<events::Notifier>,
    /// The count of token changes.
    pub(crate) tokens: Arc<tokens::Changes>,
}

impl Sinks {
    fn deliver(&self, channel: &str, payload: &str) {
        match channel {
            EVENTS => match payload.trim().parse::<i64>() {
                Ok(seq) => self.events.advance(seq),
                Err(_) => tracing::warn!(payload, "a notification on {EVENTS} without a seq; ignored"),
            },
            TOKENS => self.tokens.bump(),
            _ => {}
        }
    }

    /// What a (re)connected listener assumes it missed: events up to `newest`, and some token
    /// change.
    fn caught_up(&self, newest: i64) {
        self.events.advance(newest);
        self.tokens.bump();
    }
}

/// The listener: connects to the database of `config`, listens, and reconnects whenever the
/// connection is lost, until the engine's runtime stops (which drops it, and its connection).
pub(crate) async fn run(mut config: tokio_postgres::Config, tls: MakeRustls, shown: String, sinks: Sinks) {
    config.application_name(APPLICATION_NAME).connect_timeout(ANSWER_WITHIN);
    let mut state = Reconnect { pause: FIRST_PAUSE, down: false, shown };
    loop {
        let started = Instant::now();
        let error = session(&config, &tls, &sinks, &mut state).await;
        let pause = state.lost(&error, started.elapsed());
        tokio::time::sleep(pause).await;
    }
}

/// The listener's reconnection state.
struct Reconnect {
    /// The pause before the next attempt.
    pause: Duration,
    /// Whether an outage was logged and has not ended.
    down: bool,
    /// The database, for the log.
    shown: String,
}

impl Reconnect {
    /// The listener is connected and listening.
    fn listening(&mut self) {
        if self.down {
            tracing::info!(
                database = %self.shown,
                "listening again for other instances' commits; what they committed meanwhile is caught up"
            );
        } else {
            tracing::debug!(database = %self.shown, "listening for other instances' commits");
        }
        self.down = false;
    }

    /// The connection (or the attempt) failed after `lasted`: logs the outage if it is a new
    /// one, and returns the pause before the next attempt.
    fn lost(&mut self, error: &str, lasted: Duration) -> Duration {
        if !self.down {
            tracing::warn!(
                database = %self.shown,
                error,
                "the connection that hears other instances' commits is down; reconnecting (until then long \
                 polls look again every second, token checks every half second)"
            );
            self.down = true;
        }
        if lasted >= STABLE {
            self.pause = FIRST_PAUSE;
        }
        let pause = self.pause;
        self.pause = (self.pause * 2).min(LONGEST_PAUSE);
        pause
    }
}

/// One connection's life: connect, listen, catch up, deliver until the connection fails;
/// returns why it ended.
async fn session(config: &tokio_postgres::Config, tls: &MakeRustls, sinks: &Sinks, state: &mut Reconnect) -> String {
    // The pools' TLS settings (the URL's `sslmode`, `sslrootcert`: super::pg_tls).
    let (client, mut conn) = match config.connect(tls.clone()).await {
        Ok(c) => c,
        Err(e) => return format!("connecting: {e}"),
    };
    // The connection is driven here (its messages read) while the client's requests run below.
    let pump = async {
        loop {
            match std::future::poll_fn(|cx| conn.poll_message(cx)).await {
                Some(Ok(AsyncMessage::Notification(n))) => sinks.deliver(n.channel(), n.payload()),
                Some(Ok(_)) => {} // a notice
                Some(Err(e)) => return e.to_string(),
                None => return "the connection closed".to_owned(),
            }
        }
    };
    tokio::select! {
        error = pump => error,
        out = listen(&client, sinks, state) => match out {
            Err(error) => error,
            Ok(never) => match never {},
        },
    }
}

/// Listens on both channels, catches up with what committed while nobody listened, then pings
/// the connection now and then; returns only on a failure.
async fn listen(client: &tokio_postgres::Client, sinks: &Sinks, state: &mut Reconnect) -> Result<Infallible, String> {
    client.batch_execute(&format!("LISTEN {EVENTS}; LISTEN {TOKENS}")).await.map_err(|e| format!("LISTEN: {e}"))?;
    // After LISTEN holds: a commit from here on is notified, one before it is in this read.
    let newest: Option<i64> = client
        .query_one(events::NEWEST_PG, &[])
        .await
        .and_then(|row| row.try_get(0))
        .map_err(|e| format!("reading the newest event: {e}"))?;
    sinks.caught_up(newest.unwrap_or(0));
    state.listening();
    loop {
        tokio::time::sleep(PING_EVERY).await;
        match tokio::time::timeout(ANSWER_WITHIN, client.simple_query("")).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => return Err(format!("ping: {e}")),
            Err(_) => return Err(format!("no answer to a ping within {ANSWER_WITHIN:?}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sinks() -> Sinks {
        Sinks { events: Arc::default(), tokens: Arc::default() }
    }

    /// Notifications move the signals: an event's seq (never back), any token change; a payload
    /// that is no number is ignored.
    #[test]
    fn notifications_reach_the_signals() {
        let s = sinks();
        let (mut events, mut tokens) = (s.events.subscribe(), s.tokens.subscribe());
        s.deliver(EVENTS, "42");
        s.deliver(EVENTS, "7");
        s.deliver(EVENTS, "not a number");
        s.deliver("elsewhere", "99");
        assert_eq!(*events.borrow_and_update(), 42);
        assert!(!tokens.has_changed().unwrap_or(true));
        s.deliver(TOKENS, "");
        assert!(tokens.has_changed().unwrap_or(false));
        let before = *tokens.borrow_and_update();
        s.caught_up(40);
        assert_eq!(*events.borrow(), 42, "catching up never moves the seq back");
        assert_ne!(*tokens.borrow(), before, "catching up counts a token change");
    }

    /// The pause grows while attempts fail, up to its bound, and starts again after a connection
    /// that lasted; the outage is marked once.
    #[test]
    fn the_pause_grows_and_resets() {
        let mut r = Reconnect { pause: FIRST_PAUSE, down: false, shown: "db".into() };
        let pauses: Vec<Duration> = (0..8).map(|_| r.lost("x", Duration::ZERO)).collect();
        assert_eq!(pauses[0], FIRST_PAUSE);
        assert!(pauses.windows(2).all(|w| w[1] >= w[0]));
        assert_eq!(pauses[7], LONGEST_PAUSE);
        assert!(r.down);
        r.listening();
        assert!(!r.down);
        assert_eq!(r.lost("x", STABLE), FIRST_PAUSE, "a connection that lasted starts the pauses again");
    }

    /// A client of `url`, its connection driven in the background.
    async fn client(url: &str) -> tokio_postgres::Client {
        let (client, conn) =
            tokio_postgres::connect(url, tokio_postgres::NoTls).await.unwrap_or_else(|e| panic!("{e}"));
        tokio::spawn(conn);
        client
    }

    /// Inserts an event as another instance's writer would, notifying or not; returns its seq.
    async fn other_writer(c: &mut tokio_postgres::Client, notify: bool) -> i64 {
        let tx = c.transaction().await.unwrap_or_else(|e| panic!("{e}"));
        let seq: i64 = tx
            .query_one(
                "INSERT INTO events (id, type, occurred_at, resource_type, resource_id, actor, data)
                 VALUES (gen_random_uuid()::text, 'user.created', '2026-01-01T00:00:00Z', 'User', 'u', 't', '{}')
                 RETURNING seq",
                &[],
            )
            .await
            .and_then(|r| r.try_get(0))
            .unwrap_or_else(|e| panic!("{e}"));
        if notify {
            tx.batch_execute(NOTIFY_EVENTS).await.unwrap_or_else(|e| panic!("{e}"));
        }
        tx.commit().await.unwrap_or_else(|e| panic!("{e}"));
        seq
    }

    /// Waits (generously: the machine may be busy) until the listener of database `name` is
    /// connected or, with `gone`, until none is.
    async fn until_listener(c: &tokio_postgres::Client, name: &str, gone: bool) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let n: i64 = c
                .query_one(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND application_name = $2",
                    &[&name, &APPLICATION_NAME],
                )
                .await
                .and_then(|r| r.try_get(0))
                .unwrap_or_else(|e| panic!("{e}"));
            if (n == 0) == gone {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the listener of {name} is still {}",
                if gone { "there" } else { "absent" }
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Against `SCIMBOX_TEST_PG`: another writer's notified commit moves this process's seq, a
    /// token notification its token count; a commit made while the listener could not connect
    /// (no notification reaches it) is caught up once it connects again, as is a token change.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_listener_hears_other_writers_and_catches_up_after_an_outage() {
        let Some(url) = std::env::var("SCIMBOX_TEST_PG").ok().filter(|u| !u.is_empty()) else { return };
        let name = format!("l_{}", uuid::Uuid::new_v4().simple());
        let admin = client(&url).await;
        admin.batch_execute(&format!("CREATE DATABASE {name}")).await.unwrap_or_else(|e| panic!("{e}"));
        let server = url.rsplit_once('/').map_or(url.as_str(), |(s, _)| s);
        let db_url = format!("{server}/{name}");
        let db = super::super::Db::open(std::path::Path::new(&db_url)).unwrap_or_else(|e| panic!("{e}"));
        let (mut events, mut tokens) = (db.events_committed(), db.tokens_changed());
        until_listener(&admin, &name, false).await;
        let within = Duration::from_secs(30);

        let mut other = client(&db_url).await;
        let seq = other_writer(&mut other, true).await;
        let heard = tokio::time::timeout(within, events.wait_for(|s| *s >= seq)).await;
        assert!(heard.is_ok_and(|r| r.is_ok()), "the listener did not hear seq {seq}");
        tokens.mark_unchanged();
        other.batch_execute(NOTIFY_TOKENS).await.unwrap_or_else(|e| panic!("{e}"));
        assert!(tokio::time::timeout(within, tokens.changed()).await.is_ok_and(|r| r.is_ok()), "no token change heard");

        // An outage: the listener's connection is cut and it cannot connect again for a while.
        admin
            .batch_execute(&format!("ALTER DATABASE {name} ALLOW_CONNECTIONS false"))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        admin
            .execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND application_name = $2",
                &[&name, &APPLICATION_NAME],
            )
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        until_listener(&admin, &name, true).await;
        let missed = other_writer(&mut other, false).await;
        tokens.mark_unchanged();
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(*events.borrow() < missed, "nothing could have told the listener of seq {missed}");
        admin
            .batch_execute(&format!("ALTER DATABASE {name} ALLOW_CONNECTIONS true"))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let caught = tokio::time::timeout(within, events.wait_for(|s| *s >= missed)).await;
        assert!(caught.is_ok_and(|r| r.is_ok()), "seq {missed}, committed during the outage, was not caught up");
        assert!(tokens.has_changed().unwrap_or(false), "a reconnection counts a token change");
        drop((other, db));
    }
}
