//! Rebuild when a migration is added or changed: refinery's `embed_migrations!` does not notice
//! new files by itself.
fn main() {
    println!("cargo:rerun-if-changed=../migrations");
}
