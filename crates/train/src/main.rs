use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = digits_train::cli::Cli::parse();
    match digits_train::cli::run(cli) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("digits: error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
