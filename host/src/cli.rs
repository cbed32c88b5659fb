//! The command line, built from the settings table so every setting has exactly one flag.

use crate::config::spec::{SPECS, Scope};
use clap::{Arg, ArgAction, ArgMatches, Command};
use std::collections::HashMap;
use std::ffi::OsString;
use std::path::PathBuf;

/// What the user asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Subcommand {
    /// Run the worker against the configured server (also the default with no subcommand).
    Run,
    /// Run the worker, starting the embedded dev server first when nothing answers.
    Dev,
    /// Print a running host's `/status`; `json` prints the document as it is.
    Status {
        /// `--json`.
        json: bool,
    },
    /// Write the WIT contracts into a folder.
    Wit {
        /// Where (a plugin's `wit/deps`).
        dir: PathBuf,
    },
    /// Print a shell completion script.
    Completions {
        /// For which shell.
        shell: clap_complete::Shell,
    },
    /// Write a new plugin folder.
    New {
        /// Its language.
        lang: crate::scaffold::Lang,
        /// The plugin's name (kebab-case).
        name: String,
        /// Where (default `./NAME`).
        dir: Option<PathBuf>,
    },
    /// Write the C bindings of a WIT world (for C plugins).
    CBindings {
        /// The plugin's `wit` folder.
        wit: PathBuf,
        /// The world.
        world: String,
        /// Where the bindings go.
        out: PathBuf,
    },
    /// Wrap a `wasm32-wasi` reactor module into a component (for C plugins).
    ComponentNew {
        /// The core module.
        module: PathBuf,
        /// The component to write.
        out: PathBuf,
    },
    /// Show or steer the deployment's fleet rollout, through the coordinator workflow.
    Rollout {
        /// `status`, `pause`, `resume`, `promote`, `rollback` or `revert`.
        action: String,
        /// The build `revert` makes current again.
        build: Option<String>,
        /// `--json`.
        json: bool,
    },
    /// Load plugin files as the host would and print its verdict, offline.
    Check {
        /// Files and folders to check.
        paths: Vec<PathBuf>,
        /// `--json`.
        json: bool,
    },
}

/// The parsed command line: which command, the flag values by setting key, and `--config`.
#[derive(Debug)]
pub(crate) struct Cli {
    /// The subcommand.
    pub command: Subcommand,
    /// Setting key → raw flag text, only for flags given.
    pub flags: HashMap<&'static str, String>,
    /// The TOML file given with `--config`.
    pub config_file: Option<PathBuf>,
}

fn command() -> Command {
    let mut root = Command::new("wasm-worker")
        .version(env!("CARGO_PKG_VERSION"))
        .about("A Temporal worker that runs workflows and activities from WebAssembly components")
        .long_about(
            "A Temporal worker that runs workflows and activities from WebAssembly components.\n\
             Settings come from flags, then environment variables, then --config FILE, then defaults.",
        )
        .arg(
            Arg::new("config")
                .long("config")
                .value_name("FILE")
                .global(true)
                .help("TOML file with settings (keys as in the README's configuration table)"),
        )
        .subcommand(Command::new("run").about("Run the worker against the configured server (the default)"))
        .subcommand(
            Command::new("dev")
                .about("Run the worker; start `temporal server start-dev` first if no server answers"),
        )
        .subcommand(
            Command::new("status")
                .about("Show a running host's generations, plugins and last load error (reads /status on --metrics-bind/--metrics-port)")
                .arg(
                    Arg::new("json")
                        .long("json")
                        .action(ArgAction::SetTrue)
                        .help("Print the /status JSON document unchanged"),
                ),
        )
        .subcommand(
            Command::new("wit")
                .about("Write the WIT contracts (wasm-worker:plugin, wasm-worker:workflow, temporal:workflow-runtime) this host speaks into DIR, as a plugin's wit/deps wants them")
                .arg(
                    Arg::new("dir")
                        .value_name("DIR")
                        .default_value("wit/deps")
                        .value_parser(clap::value_parser!(PathBuf)),
                ),
        )
        .subcommand(
            Command::new("completions")
                .about("Print a completion script: wasm-worker completions bash > /etc/bash_completion.d/wasm-worker")
                .arg(
                    Arg::new("shell")
                        .value_name("SHELL")
                        .required(true)
                        .value_parser(clap::value_parser!(clap_complete::Shell)),
                ),
        )
        .subcommand(
            Command::new("new")
                .about("Write a plugin folder (WIT world, code, build.sh, README) that builds with one command: wasm-worker new --lang python order-tools")
                .arg(
                    Arg::new("lang")
                        .long("lang")
                        .required(true)
                        .value_parser(crate::scaffold::Lang::NAMES),
                )
                .arg(Arg::new("name").value_name("NAME").required(true))
                .arg(
                    Arg::new("dir")
                        .long("dir")
                        .value_name("DIR")
                        .help("Folder to create (default: ./NAME)")
                        .value_parser(clap::value_parser!(PathBuf)),
                ),
        )
        .subcommand(
            Command::new("c-bindings")
                .about("Write the C bindings of WORLD in WIT_DIR into OUT_DIR (C plugins)")
                .arg(Arg::new("wit").value_name("WIT_DIR").required(true).value_parser(clap::value_parser!(PathBuf)))
                .arg(Arg::new("world").value_name("WORLD").required(true))
                .arg(Arg::new("out").value_name("OUT_DIR").required(true).value_parser(clap::value_parser!(PathBuf))),
        )
        .subcommand(
            Command::new("component-new")
                .about("Make a component of a wasm32-wasi reactor module, with the WASI preview-1 adapter (C plugins)")
                .arg(Arg::new("module").value_name("CORE.wasm").required(true).value_parser(clap::value_parser!(PathBuf)))
                .arg(Arg::new("out").value_name("OUT.wasm").required(true).value_parser(clap::value_parser!(PathBuf))),
        )
        .subcommand(
            Command::new("rollout")
                .about("Show or steer the deployment's fleet rollout through its coordinator workflow (via the server, not a host): status | pause | resume | promote | rollback | revert BUILD")
                .arg(
                    Arg::new("action")
                        .value_name("ACTION")
                        .required(true)
                        .value_parser(["status", "pause", "resume", "promote", "rollback", "revert"]),
                )
                .arg(Arg::new("build").value_name("BUILD").help("The build `revert` makes current again"))
                .arg(
                    Arg::new("json")
                        .long("json")
                        .action(ArgAction::SetTrue)
                        .help("Print the coordinator's plan (or answer) as JSON"),
                ),
        )
        .subcommand(
            Command::new("check")
                .about("Load plugin files (or every *.wasm of a folder) exactly as the host would, without a server; exit 1 if the host would refuse any")
                .arg(
                    Arg::new("paths")
                        .value_name("FILE|FOLDER")
                        .num_args(1..)
                        .required(true)
                        .value_parser(clap::value_parser!(PathBuf)),
                )
                .arg(
                    Arg::new("json")
                        .long("json")
                        .action(ArgAction::SetTrue)
                        .help("Print the verdicts as JSON"),
                ),
        );
    for spec in SPECS {
        let arg = Arg::new(spec.key)
            .long(spec.flag)
            .value_name(spec.value_name)
            .help(spec.help)
            .action(ArgAction::Set);
        // A yes/no setting is a plain switch, as in the `temporal` CLI (`--tls`); a value
        // may still be given with `=` (`--tls=false`).
        let arg = if spec.value_name == "BOOL" {
            arg.num_args(0..=1)
                .require_equals(true)
                .default_missing_value("true")
        } else {
            arg
        };
        root = match spec.scope {
            Scope::Worker => root.arg(arg.global(true)),
            Scope::Dev => root.mut_subcommand("dev", |dev| dev.arg(arg)),
        };
    }
    root
}

/// The completion script for `shell`, covering every subcommand and setting.
pub(crate) fn completions(shell: clap_complete::Shell) -> String {
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut command(), "wasm-worker", &mut out);
    String::from_utf8_lossy(&out).into_owned()
}

/// Parses `args` (including the program name). Errors are clap's, printed by the caller with
/// exit code 2 for usage errors.
pub(crate) fn parse<I, T>(args: I) -> Result<Cli, clap::Error>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let matches = command().try_get_matches_from(args)?;
    let (command, sub) = match matches.subcommand() {
        Some(("dev", m)) => (Subcommand::Dev, Some(m)),
        Some(("run", m)) => (Subcommand::Run, Some(m)),
        Some(("status", m)) => (
            Subcommand::Status {
                json: m.get_flag("json"),
            },
            Some(m),
        ),
        Some(("wit", m)) => (
            Subcommand::Wit {
                dir: m
                    .get_one::<PathBuf>("dir")
                    .cloned()
                    .unwrap_or_else(|| PathBuf::from("wit/deps")),
            },
            Some(m),
        ),
        Some(("completions", m)) => (
            Subcommand::Completions {
                shell: *m
                    .get_one::<clap_complete::Shell>("shell")
                    .expect("required by clap"),
            },
            Some(m),
        ),
        Some(("new", m)) => (
            Subcommand::New {
                lang: m
                    .get_one::<String>("lang")
                    .and_then(|l| crate::scaffold::Lang::from_name(l))
                    .expect("clap checks the value"),
                name: m.get_one::<String>("name").cloned().unwrap_or_default(),
                dir: m.get_one::<PathBuf>("dir").cloned(),
            },
            Some(m),
        ),
        Some(("c-bindings", m)) => (
            Subcommand::CBindings {
                wit: m.get_one::<PathBuf>("wit").cloned().unwrap_or_default(),
                world: m.get_one::<String>("world").cloned().unwrap_or_default(),
                out: m.get_one::<PathBuf>("out").cloned().unwrap_or_default(),
            },
            Some(m),
        ),
        Some(("component-new", m)) => (
            Subcommand::ComponentNew {
                module: m.get_one::<PathBuf>("module").cloned().unwrap_or_default(),
                out: m.get_one::<PathBuf>("out").cloned().unwrap_or_default(),
            },
            Some(m),
        ),
        Some(("rollout", m)) => (
            Subcommand::Rollout {
                action: m.get_one::<String>("action").cloned().unwrap_or_default(),
                build: m.get_one::<String>("build").cloned(),
                json: m.get_flag("json"),
            },
            Some(m),
        ),
        Some(("check", m)) => (
            Subcommand::Check {
                paths: m
                    .get_many::<PathBuf>("paths")
                    .map(|p| p.cloned().collect())
                    .unwrap_or_default(),
                json: m.get_flag("json"),
            },
            Some(m),
        ),
        _ => (Subcommand::Run, None),
    };
    let mut flags = HashMap::new();
    let lookup = |m: &ArgMatches, key: &str| m.try_get_one::<String>(key).ok().flatten().cloned();
    for spec in SPECS {
        let value = sub
            .and_then(|m| lookup(m, spec.key))
            .or_else(|| lookup(&matches, spec.key));
        if let Some(v) = value {
            flags.insert(spec.key, v);
        }
    }
    let config_file = sub
        .and_then(|m| lookup(m, "config"))
        .or_else(|| lookup(&matches, "config"))
        .map(PathBuf::from);
    Ok(Cli {
        command,
        flags,
        config_file,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_subcommand_means_run() {
        let cli = parse(["wasm-worker"]).expect("parse");
        assert_eq!(cli.command, Subcommand::Run);
        assert!(cli.flags.is_empty());
    }

    #[test]
    fn flags_work_before_and_after_the_subcommand() {
        let cli = parse([
            "wasm-worker",
            "--namespace",
            "a",
            "dev",
            "--plugins",
            "p",
            "--dev-ui-port",
            "0",
        ])
        .expect("parse");
        assert_eq!(cli.command, Subcommand::Dev);
        assert_eq!(cli.flags["namespace"], "a");
        assert_eq!(cli.flags["plugins_dir"], "p");
        assert_eq!(cli.flags["dev_ui_port"], "0");
        let cli = parse([
            "wasm-worker",
            "run",
            "--config",
            "c.toml",
            "--task-queue",
            "q",
        ])
        .expect("parse");
        assert_eq!(cli.config_file, Some(PathBuf::from("c.toml")));
        assert_eq!(cli.flags["task_queue"], "q");
    }

    #[test]
    fn check_takes_files_and_folders_and_json() {
        let cli = parse(["wasm-worker", "check", "a.wasm", "plugins/", "--json"]).expect("parse");
        assert_eq!(
            cli.command,
            Subcommand::Check {
                paths: vec![PathBuf::from("a.wasm"), PathBuf::from("plugins/")],
                json: true
            }
        );
        let e = parse(["wasm-worker", "check"]).expect_err("a file is required");
        assert!(e.to_string().contains("FILE|FOLDER"), "{e}");
    }

    #[test]
    fn completions_cover_subcommands_and_settings() {
        for shell in [
            clap_complete::Shell::Bash,
            clap_complete::Shell::Zsh,
            clap_complete::Shell::Fish,
        ] {
            let script = completions(shell);
            assert!(script.contains("check"), "{shell}");
            assert!(script.contains("status-bind"), "{shell}");
        }
        let cli = parse(["wasm-worker", "completions", "zsh"]).expect("parse");
        assert_eq!(
            cli.command,
            Subcommand::Completions {
                shell: clap_complete::Shell::Zsh
            }
        );
        let cli = parse(["wasm-worker", "wit"]).expect("parse");
        assert_eq!(
            cli.command,
            Subcommand::Wit {
                dir: PathBuf::from("wit/deps")
            }
        );
    }

    #[test]
    fn status_takes_the_port_settings_and_json() {
        let cli =
            parse(["wasm-worker", "status", "--metrics-port", "9000", "--json"]).expect("parse");
        assert_eq!(cli.command, Subcommand::Status { json: true });
        assert_eq!(cli.flags["metrics_port"], "9000");
    }

    #[test]
    fn dev_only_flags_are_refused_by_run() {
        let e = parse(["wasm-worker", "run", "--dev-ui-port", "1"]).expect_err("refused");
        assert_eq!(e.exit_code(), 2);
    }

    #[test]
    fn clap_definition_is_consistent() {
        command().debug_assert();
    }
}
