use std::process::ExitCode;

fn main() -> ExitCode {
    // One TLS crypto provider for kube and the registry client alike.
    rchart::oci::install_crypto_provider();
    let cli = rchart::cli::parse();
    match rchart::commands::run(cli) {
        Ok(outcome) => outcome.into(),
        Err(error) => {
            if is_broken_pipe(&error) {
                return ExitCode::SUCCESS;
            }
            eprintln!("{}", rchart::error_report(&error));
            ExitCode::from(1)
        }
    }
}

/// `rchart template … | head` closes our stdout early; that is not an error.
fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
