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
    match cli.command {
        Subcommand::Status { json } => {
            return status_command(cli.flags, cli.config_file.as_deref(), json);
        }
        Subcommand::Rollout {
            action,
            build,
            json,
        } => {
            return crate::rollout_cmd::main(
                cli.flags,
                cli.config_file.as_deref(),
                &action,
                build,
                json,
            );
        }
        Subcommand::Check { paths, json } => {
            return check_command(cli.flags, cli.config_file.as_deref(), &paths, json);
        }
        Subcommand::Wit { dir } => {
            return match crate::contract::write(&dir) {
                Ok(written) => {
                    for line in written {
                        println!("wrote {line}");
                    }
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("wasm-worker: cannot write into {}: {e}", dir.display());
                    ExitCode::FAILURE
                }
            };
        }
        Subcommand::New { lang, name, dir } => {
            return crate::scaffold::new_command(lang, &name, dir);
        }
        Subcommand::CBindings { wit, world, out } => {
            return crate::scaffold::c_bindings_command(&wit, &world, &out);
        }
        Subcommand::ComponentNew { module, out } => {
            return crate::scaffold::component_new_command(&module, &out);
        }
        Subcommand::Completions { shell } => {
            print!("{}", cli::completions(shell));
            return ExitCode::SUCCESS;
        }
        Subcommand::Run | Subcommand::Dev => {}
    }
    // The whole environment, for Temporal's profile layer (the default file's location and the
    // `TEMPORAL_GRPC_META_*` family); variables that are not UTF-8 cannot be settings.
    let environment: std::collections::HashMap<String, String> = std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
        .collect();
    let resolved = Sources::new(
        cli.flags,
        |k| std::env::var(k).ok(),
        cli.config_file.as_deref(),
    )
    .and_then(|src| src.with_temporal_profile(&environment, cli.command == Subcommand::Dev))
    .and_then(|src| Ok((Config::resolve(&src)?, DevConfig::resolve(&src)?)));
    let (config, dev) = match configured(resolved) {
        Ok(c) => c,
        Err(code) => return code,
    };
    if let Err(e) = crate::logging::init(&config.log_filter, config.log_format) {
        eprintln!("wasm-worker: cannot initialise logging: {e}");
        return ExitCode::from(2);
    }
    crate::http::raise_fd_limit();
    let runtime = match async_runtime(tokio::runtime::Builder::new_multi_thread()) {
        Ok(r) => r,
        Err(code) => return code,
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
            Subcommand::Status { .. }
            | Subcommand::Check { .. }
            | Subcommand::Rollout { .. }
            | Subcommand::Wit { .. }
            | Subcommand::New { .. }
            | Subcommand::CBindings { .. }
            | Subcommand::ComponentNew { .. }
            | Subcommand::Completions { .. } => {
                unreachable!("handled before the worker starts")
            }
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

/// `wasm-worker check`: needs only the settings loading uses (compile cache, secrets file,
/// grant policy, default versioning), not a server or a plugins folder. Exit 1 when the host
/// would refuse any file, 2 for a configuration error.
fn check_command(
    flags: std::collections::HashMap<&'static str, String>,
    config_file: Option<&std::path::Path>,
    paths: &[std::path::PathBuf],
    json: bool,
) -> ExitCode {
    // The worker's settings, with the plugins folder the first target's (it need not be the
    // configured one, which need not exist where the command runs).
    let mut flags = flags;
    if let Some(first) = paths.first() {
        let dir = if first.is_dir() {
            first.clone()
        } else {
            first
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .map_or_else(
                    || std::path::PathBuf::from("."),
                    std::path::Path::to_path_buf,
                )
        };
        let dir = if dir.is_dir() {
            dir
        } else {
            std::path::PathBuf::from(".")
        };
        flags.insert("plugins_dir", dir.display().to_string());
    }
    let config = match configured(
        Sources::new(flags, |k| std::env::var(k).ok(), config_file)
            .and_then(|src| Config::resolve(&src)),
    ) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let runtime = match crate::host::plugin_runtime(
        crate::engine::PoolSize {
            activities: 4,
            workflow_runs: 4,
        },
        &crate::metrics::HostMetrics::new(),
        &config,
    ) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("wasm-worker: {e:#}");
            return ExitCode::FAILURE;
        }
    };
    let reports = crate::check::check(&runtime, paths, config.default_versioning);
    if json {
        match serde_json::to_string_pretty(&reports) {
            Ok(text) => println!("{text}"),
            Err(e) => eprintln!("wasm-worker: {e}"),
        }
    } else {
        print!("{}", crate::check::render(&reports));
    }
    if reports.iter().all(|r| r.ok) {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// `wasm-worker status`: needs only the port settings, not a valid worker configuration
/// (the plugins folder need not exist where the command runs). Exit 1 when no host answers.
fn status_command(
    flags: std::collections::HashMap<&'static str, String>,
    config_file: Option<&std::path::Path>,
    json: bool,
) -> ExitCode {
    let addr = match configured(
        Sources::new(flags, |k| std::env::var(k).ok(), config_file)
            .and_then(|src| crate::config::status_addr(&src)),
    ) {
        Ok(a) => a,
        Err(code) => return code,
    };
    let runtime = match async_runtime(tokio::runtime::Builder::new_current_thread()) {
        Ok(r) => r,
        Err(code) => return code,
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

/// A configuration error is reported on stderr (logging is not set up yet) and exits 2.
pub(crate) fn configured<T>(
    resolved: Result<T, crate::config::ConfigError>,
) -> Result<T, ExitCode> {
    resolved.map_err(|e| {
        eprintln!("wasm-worker: configuration error: {e}");
        ExitCode::from(2)
    })
}

/// The tokio runtime from `builder`, or the exit code after saying why not.
pub(crate) fn async_runtime(
    mut builder: tokio::runtime::Builder,
) -> Result<tokio::runtime::Runtime, ExitCode> {
    builder.enable_all().build().map_err(|e| {
        eprintln!("wasm-worker: cannot start the async runtime: {e}");
        ExitCode::FAILURE
    })
}
