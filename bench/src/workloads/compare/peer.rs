//! The peer: the Python `scim2-server` (PyPI) under gunicorn, one worker process (its storage is
//! in memory, per process) with threads, started from a virtual environment that holds
//! `bench/peer/requirements.txt`. `bench/peer/scim2_peer.py` builds the same application as the
//! package's `scim2-server` command, as a WSGI callable for gunicorn.

use std::path::Path;

use tokio::process::Command;

use super::PROBE;
use crate::load::Target;
use crate::process::{self, Server};

/// gunicorn's threads in its one worker.
const THREADS: usize = 4;
/// The peer's bearer token (it accepts a static list).
const TOKEN: &str = "bench-peer-token";

/// Starts the peer from `venv`, logging into `dir`.
pub async fn launch(venv: &Path, dir: &Path) -> anyhow::Result<Server> {
    let gunicorn = venv.join("bin").join("gunicorn");
    anyhow::ensure!(
        gunicorn.exists(),
        "{} is missing: run scripts/bench.sh, which installs the peer",
        gunicorn.display()
    );
    let shim = Path::new(env!("CARGO_MANIFEST_DIR")).join("peer");
    let addr = process::free_addr()?;
    let mut command = Command::new(gunicorn);
    command
        .args(["--workers", "1", "--threads", &THREADS.to_string(), "--no-control-socket", "--bind", &addr.to_string()])
        .arg("--chdir")
        .arg(&shim)
        .arg("scim2_peer:app")
        .env("SCIM2_PEER_TOKEN", TOKEN);
    let target = Target { addr, base_path: "/v2".into(), auth: Some(format!("Bearer {TOKEN}")) };
    Server::start("peer", command, target, PROBE, &dir.join("peer.log")).await
}

/// The size of the installed packages (the virtual environment's `lib`), in bytes.
pub fn installed_size(venv: &Path) -> Option<u64> {
    fn walk(path: &Path) -> u64 {
        let Ok(meta) = std::fs::symlink_metadata(path) else { return 0 };
        if !meta.is_dir() {
            return meta.len();
        }
        std::fs::read_dir(path).map(|d| d.flatten().map(|e| walk(&e.path())).sum()).unwrap_or(0)
    }
    let lib = venv.join("lib");
    lib.exists().then(|| walk(&lib))
}
