//! The `scimbox` binary: everything lives in the library.
fn main() -> std::process::ExitCode {
    scimbox::cli::main()
}
