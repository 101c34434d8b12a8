//! TLS to PostgreSQL (`server/src/db/pg_tls.rs`): libpq's `sslmode=require` encrypts without
//! checking the certificate, `verify-full` with `sslrootcert=FILE` checks it against that CA, and
//! a certificate another CA signed is refused with an error that says so, by the store and by the
//! CLI. Needs a cluster with TLS on: `scripts/pg.sh start --ssl` (`scripts/test.sh` starts its
//! PostgreSQL cluster so), `SCIMBOX_TEST_PG` its URL and `SCIMBOX_TEST_PG_CA` the CA file
//! `scripts/pg.sh ca` prints; skipped without them.

use std::path::{Path, PathBuf};

use scimbox::db::{Db, tokens};

use crate::helpers::{fresh_db, run_scimbox};

/// A new database's URL and the cluster's CA file, or `None` (skip).
async fn database(dir: &Path) -> Option<(String, PathBuf)> {
    let ca = std::env::var("SCIMBOX_TEST_PG_CA").ok().filter(|c| !c.is_empty());
    let (true, Some(ca)) = (crate::helpers::on_postgres(), ca) else {
        eprintln!("skipped: SCIMBOX_TEST_PG and SCIMBOX_TEST_PG_CA (scripts/pg.sh start --ssl; pg.sh ca) are not set");
        return None;
    };
    let url = fresh_db(dir).await.to_str().expect("utf-8 URL").to_owned();
    assert!(!url.contains('?'), "SCIMBOX_TEST_PG without parameters: {url}");
    Some((url, PathBuf::from(ca)))
}

/// Opens the store at `url`, writes a token and reads it back, and says whether the reading
/// connection is encrypted (`pg_stat_ssl`).
async fn round_trip(url: &str, name: &'static str) -> bool {
    let db = Db::open(Path::new(url)).unwrap_or_else(|e| panic!("{url}: {e}"));
    let hash = scimbox::auth::hash(&scimbox::auth::generate());
    let now = scimbox::stamp::timestamp(scimbox::clock::now());
    db.write(move |c| tokens::insert(c, name, &hash, &now, None)).await.expect("write a token");
    let (found, encrypted): (i64, i64) = db
        .read(move |c| {
            let found = c.query_row("SELECT count(*) FROM tokens WHERE name = ?1", [name], |r| r.get(0))?;
            let encrypted =
                c.query_row("SELECT count(*) FROM pg_stat_ssl WHERE pid = pg_backend_pid() AND ssl", [], |r| r.get(0))?;
            Ok((found, encrypted))
        })
        .await
        .expect("read");
    assert_eq!(found, 1, "{url}: the token is there");
    encrypted == 1
}

/// A CA of its own, which signed nothing the cluster has, as a PEM file.
fn other_ca(dir: &Path) -> PathBuf {
    let key = rcgen::KeyPair::generate().expect("key");
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let cert = params.self_signed(&key).expect("self-signed");
    let path = dir.join("other-ca.pem");
    std::fs::write(&path, cert.pem()).expect("write the CA");
    path
}

#[tokio::test]
async fn require_encrypts_and_verify_full_checks_the_ca() {
    let dir = tempfile::tempdir().expect("dir");
    let Some((url, ca)) = database(dir.path()).await else { return };
    assert!(!round_trip(&format!("{url}?sslmode=disable"), "plain").await, "disable: not encrypted");
    assert!(round_trip(&format!("{url}?sslmode=require"), "required").await, "require: encrypted");
    let full = format!("{url}?sslmode=verify-full&sslrootcert={}", ca.display());
    assert!(round_trip(&full, "verified").await, "verify-full: encrypted");
    let chain = format!("{url}?sslmode=verify-ca&sslrootcert={}", ca.display());
    assert!(round_trip(&chain, "chained").await, "verify-ca: encrypted");
    // The name checked is the URL's host: the certificate names localhost too.
    let by_name = full.replacen("127.0.0.1", "localhost", 1);
    assert!(round_trip(&by_name, "named").await, "verify-full by DNS name: encrypted");
}

#[tokio::test]
async fn a_certificate_of_another_ca_is_refused_clearly() {
    let dir = tempfile::tempdir().expect("dir");
    let Some((url, _)) = database(dir.path()).await else { return };
    let wrong = other_ca(dir.path());
    let bad = format!("{url}?sslmode=verify-full&sslrootcert={}", wrong.display());
    let e = Db::open(Path::new(&bad)).err().expect("a certificate of another CA is refused").to_string();
    assert!(
        e.contains("certificate error")
            && e.contains(&format!("is not signed by a CA of sslrootcert={}", wrong.display())),
        "{e}"
    );
    // Without sslrootcert the public roots are the trusted ones: the test CA is none of them.
    let e = Db::open(Path::new(&format!("{url}?sslmode=verify-full"))).err().expect("refused").to_string();
    assert!(e.contains("is not signed by a public CA") && e.contains("sslrootcert=FILE"), "{e}");
    // The CLI says the same and fails.
    let out = run_scimbox(&["migrate", "--db", &bad], "");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(stderr.contains("certificate error"), "{stderr}");
    // A bad mode or a missing file is refused before any connection.
    let e = Db::open(Path::new(&format!("{url}?sslmode=verify"))).err().expect("refused").to_string();
    assert!(e.contains("sslmode=verify is not one of"), "{e}");
    let missing = dir.path().join("missing.pem");
    let e = Db::open(Path::new(&format!("{url}?sslmode=verify-full&sslrootcert={}", missing.display())))
        .err()
        .expect("refused")
        .to_string();
    assert!(e.contains("sslrootcert: cannot read"), "{e}");
}
