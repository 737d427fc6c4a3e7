//! The `outreach` binary: parse, run, map the outcome to an exit code.
//! Everything else lives in the library so tests can drive it.

fn main() {
    let code = outreach::cli::main_with_exit_code();
    std::process::exit(code);
}
