//! The `nyckel` binary: parse the command line and hand over to [`nyckel::cli`].

fn main() -> std::process::ExitCode {
    nyckel::cli::main()
}
