//! The program behind the `wasm-worker` binary: parse, initialise logging, run. Exit codes: 0
//! after a graceful shutdown, 1 when the host fails, 2 for a configuration error, 130 after a
//! second signal.
//!
//! It lives in the library so that the integration tests can build the very same program as a
//! binary of their own package (see `tests/Cargo.toml`).

use crate::cli::{self, Subcommand};
use crate::config::{Config, DevConfig, sources::Sources};
use std::process::ExitCode;

/// Runs the program with the process's arguments and environment.
pub fn main() -> ExitCode {
    let cli = match cli::parse(std::env::args_os()) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(2));
        }
    };
    if let Subcommand::Status { json } = cli.command {
        return status_command(cli.flags, cli.config_file.as_deref(), json);
    }
    let resolved = Sources::new(
        cli.flags,
        |k| std::env::var(k).ok(),
        cli.config_file.as_deref(),
    )
    .and_then(|src| Ok((Config::resolve(&src)?, DevConfig::resolve(&src)?)));
    let (config, dev) = match resolved {
        Ok(c) => c,
        Err(e) => {
            eprintln!("wasm-worker: configuration error: {e}");
            return ExitCode::from(2);
        }
    };
    if let Err(e) = crate::logging::init(&config.log_filter, config.log_format) {
        eprintln!("wasm-worker: cannot initialise logging: {e}");
        return ExitCode::from(2);
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("wasm-worker: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async move {
        tracing::info!(
            version = env!("CARGO_PKG_VERSION"),
            ?config,
            "wasm-worker starting"
        );
        let shutdown = async {
            if let Err(e) = crate::shutdown::first_signal().await {
                tracing::error!(error = %e, "cannot listen for signals");
                std::future::pending::<()>().await;
            }
        };
        match cli.command {
            Subcommand::Run => crate::run(config, shutdown).await,
            Subcommand::Dev => crate::run_dev(config, dev, shutdown).await,
            Subcommand::Status { .. } => unreachable!("handled before the worker starts"),
        }
    });
    match result {
        Ok(()) => {
            tracing::info!("wasm-worker stopped");
            ExitCode::SUCCESS
        }
        Err(e) => {
            tracing::error!("wasm-worker failed: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// `wasm-worker status`: needs only the port settings, not a valid worker configuration
/// (the plugins folder need not exist where the command runs). Exit 1 when no host answers.
fn status_command(
    flags: std::collections::HashMap<&'static str, String>,
    config_file: Option<&std::path::Path>,
    json: bool,
) -> ExitCode {
    let addr = match Sources::new(flags, |k| std::env::var(k).ok(), config_file)
        .and_then(|src| crate::config::status_addr(&src))
    {
        Ok(a) => a,
        Err(e) => {
            eprintln!("wasm-worker: configuration error: {e}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("wasm-worker: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(crate::status_cmd::fetch(addr)) {
        Ok(doc) if json => {
            println!("{doc}");
            ExitCode::SUCCESS
        }
        Ok(doc) => {
            print!("{}", crate::status_cmd::render(addr, &doc));
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("wasm-worker: {e:#}");
            ExitCode::FAILURE
        }
    }
}
