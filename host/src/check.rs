//! `wasm-worker check FILE|FOLDER…`: the host's verdict on plugin files, offline.
//!
//! Each file is loaded exactly as a running host loads it — header, manifest, world, exports,
//! compile, link, `list-workflows` — by the same loader, so "ok" here means the host loads
//! it, and a refusal is the same sentence the host would log. Files of one folder are also
//! checked against each other (a type two files export refuses both), as the host does.
//! No server is needed; the compile cache is the host's, so a checked file loads faster.

use crate::metrics::HostMetrics;
use crate::plugin_file::PluginFile;
use crate::plugins::PluginSet;
use crate::runtime::Runtime;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// The verdict on one file.
#[derive(Debug, Serialize)]
pub(crate) struct FileReport {
    /// The file, as found.
    pub(crate) file: String,
    /// True when the host would load it.
    pub(crate) ok: bool,
    /// Why the host would refuse it (the host's own message).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) error: Option<String>,
    /// What it loaded as, when it loads.
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub(crate) loaded: Option<Loaded>,
}

/// What a loadable file provides and may do.
#[derive(Debug, Serialize)]
pub(crate) struct Loaded {
    /// `activities` or `workflows`.
    pub(crate) kind: &'static str,
    /// SHA-256 of the file.
    pub(crate) digest: String,
    /// Its part of the build ID (file digest, plus the manifest's when there is one).
    pub(crate) build_id_part: String,
    /// Activity types with their full WIT signatures.
    pub(crate) activities: Vec<Activity>,
    /// Workflow types with their handlers and versioning behaviour.
    pub(crate) workflows: Vec<Workflow>,
    /// Interfaces it imports.
    pub(crate) imports: Vec<String>,
    /// A WIT-typed workflow's imported activities, with the signature it calls them by.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) calls: Vec<Activity>,
    /// The sandbox its manifest grants.
    pub(crate) grants: Grants,
    /// What the host would warn about (folder grants outside the plugins folder).
    pub(crate) warnings: Vec<String>,
}

/// One activity type.
#[derive(Debug, Serialize)]
pub(crate) struct Activity {
    /// The Temporal activity type.
    pub(crate) activity_type: String,
    /// The exporting interface, empty for a world-level function.
    pub(crate) interface: String,
    /// `name(param: type, …) -> result`, nothing elided.
    pub(crate) signature: String,
}

/// One workflow type.
#[derive(Debug, Serialize)]
pub(crate) struct Workflow {
    /// The Temporal workflow type.
    pub(crate) workflow_type: String,
    /// `pinned` or `auto-upgrade` (the manifest's choice, else the host's default).
    pub(crate) versioning: &'static str,
    /// Signal names.
    pub(crate) signals: Vec<String>,
    /// Query names.
    pub(crate) queries: Vec<String>,
    /// Update names.
    pub(crate) updates: Vec<String>,
    /// A plain WIT function: its typed signals are in `signals`; signals taken by name and
    /// queries are named at run time, not declared.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub(crate) wit_typed: bool,
}

/// The sandbox of a plugin, from its manifest (values of `env` never shown).
#[derive(Debug, Serialize)]
pub(crate) struct Grants {
    /// Memory limit per instance, MiB.
    pub(crate) memory_limit_mib: u64,
    /// Longest one call may run.
    pub(crate) max_call_time: String,
    /// `fresh` (an instance per activity call) or `reuse` (instances kept between calls).
    pub(crate) isolation: &'static str,
    /// `host → guest (ro|rw)` folder grants.
    pub(crate) dirs: Vec<String>,
    /// Where it may connect.
    pub(crate) allowed_outbound_hosts: Vec<String>,
    /// Names of the environment variables the manifest sets.
    pub(crate) env: Vec<String>,
    /// Names of the host secrets it sees.
    pub(crate) env_from_host: Vec<String>,
}

/// Checks every target: a folder means each `*.wasm` in it, files are grouped by folder.
pub(crate) fn check(
    runtime: &Runtime,
    targets: &[PathBuf],
    default_versioning: crate::config::Versioning,
) -> Vec<FileReport> {
    let metrics = HostMetrics::new();
    let mut by_dir: BTreeMap<PathBuf, Vec<PathBuf>> = BTreeMap::new();
    let mut reports = Vec::new();
    for target in targets {
        if target.is_dir() {
            let set = PluginSet::load(runtime, target, &metrics);
            reports.extend(reports_of(&set, target, default_versioning));
        } else if target.exists() {
            let dir = match target.parent() {
                Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
                _ => PathBuf::from("."),
            };
            by_dir.entry(dir).or_default().push(target.clone());
        } else {
            reports.push(FileReport {
                file: target.display().to_string(),
                ok: false,
                error: Some("no such file or folder".into()),
                loaded: None,
            });
        }
    }
    for (dir, files) in by_dir {
        let set = PluginSet::load_files(runtime, &dir, &files, &metrics);
        reports.extend(reports_of(&set, &dir, default_versioning));
    }
    // A one-shot command ends before the cache's own writer would: what it compiled still
    // speeds up the host that loads these files next.
    runtime.flush_function_cache();
    reports
}

fn reports_of(
    set: &PluginSet,
    dir: &Path,
    default_versioning: crate::config::Versioning,
) -> Vec<FileReport> {
    let path = |file: &str| dir.join(file).display().to_string();
    let mut out: Vec<FileReport> = Vec::new();
    for p in &set.plugins {
        let activities = p
            .functions
            .iter()
            .map(|f| Activity {
                activity_type: f.activity_type.clone(),
                interface: f.interface.clone(),
                signature: f.signature(),
            })
            .collect();
        out.push(ok(
            path(&p.source.file),
            &p.source,
            "activities",
            activities,
            Vec::new(),
            p.imports(),
        ));
    }
    for w in &set.workflows {
        let workflows = w
            .definitions
            .iter()
            .map(|d| Workflow {
                workflow_type: d.workflow_type.clone(),
                versioning: w.versioning(&d.workflow_type, default_versioning).as_str(),
                signals: d.signals.clone(),
                queries: d.queries.clone(),
                updates: d.updates.clone(),
                wit_typed: w.is_wit_typed(),
            })
            .collect();
        let mut report = ok(
            path(&w.source.file),
            &w.source,
            "workflows",
            Vec::new(),
            workflows,
            w.imports(),
        );
        if let Some(l) = &mut report.loaded {
            l.calls = w
                .activity_imports()
                .iter()
                .map(|i| Activity {
                    activity_type: i.activity_type.clone(),
                    interface: i.interface.clone(),
                    signature: i.signature.clone(),
                })
                .collect();
            l.warnings.extend(
                set.import_warnings
                    .iter()
                    .filter(|x| x.file == w.source.file)
                    .map(|x| x.message.clone()),
            );
        }
        out.push(report);
    }
    for e in &set.errors {
        // The folder itself, when it cannot be listed, is named by its path already.
        let file = if Path::new(&e.file).is_absolute() {
            e.file.clone()
        } else {
            path(&e.file)
        };
        out.push(FileReport {
            file,
            ok: false,
            error: Some(e.to_string()),
            loaded: None,
        });
    }
    out.sort_by(|a, b| a.file.cmp(&b.file));
    out
}

fn ok(
    file: String,
    source: &PluginFile,
    kind: &'static str,
    activities: Vec<Activity>,
    workflows: Vec<Workflow>,
    imports: Vec<String>,
) -> FileReport {
    let m = &source.manifest;
    FileReport {
        file,
        ok: true,
        error: None,
        loaded: Some(Loaded {
            kind,
            digest: source.digest.clone(),
            build_id_part: source.identity(),
            activities,
            workflows,
            imports,
            calls: Vec::new(),
            grants: Grants {
                memory_limit_mib: m.memory_limit >> 20,
                max_call_time: humantime::format_duration(m.max_call_time).to_string(),
                isolation: match m.isolation {
                    crate::manifest::Isolation::Fresh => "fresh",
                    crate::manifest::Isolation::Reuse => "reuse",
                },
                dirs: m
                    .dirs
                    .iter()
                    .map(|d| {
                        let mode = if d.writable { "rw" } else { "ro" };
                        format!("{} → {} ({mode})", d.host.display(), d.guest)
                    })
                    .collect(),
                allowed_outbound_hosts: m
                    .outbound
                    .allow
                    .rules()
                    .iter()
                    .map(ToString::to_string)
                    .collect(),
                env: m.env.keys().cloned().collect(),
                env_from_host: m.env_from_host.clone(),
            },
            warnings: m.warnings.clone(),
        }),
    }
}

/// The reports for people.
pub(crate) fn render(reports: &[FileReport]) -> String {
    let mut out = String::new();
    let list = |items: &[String]| {
        if items.is_empty() {
            "none".to_string()
        } else {
            items.join(", ")
        }
    };
    for r in reports {
        let Some(l) = &r.loaded else {
            let _ = writeln!(
                out,
                "{}: refused\n  {}",
                r.file,
                r.error.as_deref().unwrap_or("?")
            );
            continue;
        };
        let _ = writeln!(out, "{}: ok, {} (sha256 {})", r.file, l.kind, l.digest);
        for a in &l.activities {
            let from = if a.interface.is_empty() {
                String::new()
            } else {
                format!("  [{}]", a.interface)
            };
            let _ = writeln!(out, "  activity {}: {}{from}", a.activity_type, a.signature);
        }
        for w in &l.workflows {
            if w.wit_typed {
                let _ = writeln!(
                    out,
                    "  workflow {} ({}): WIT-typed; typed signals {}; other signals and queries are named at run time",
                    w.workflow_type,
                    w.versioning,
                    list(&w.signals)
                );
                continue;
            }
            let _ = writeln!(
                out,
                "  workflow {} ({}): signals {}; queries {}; updates {}",
                w.workflow_type,
                w.versioning,
                list(&w.signals),
                list(&w.queries),
                list(&w.updates)
            );
        }
        for a in &l.calls {
            let _ = writeln!(
                out,
                "  calls activity {}: {}  [{}]",
                a.activity_type, a.signature, a.interface
            );
        }
        let g = &l.grants;
        let _ = writeln!(out, "  imports: {}", list(&l.imports));
        let _ = writeln!(
            out,
            "  sandbox: memory {} MiB, calls up to {}, {} instances; folders {}; outbound {}; env {}; secrets {}",
            g.memory_limit_mib,
            g.max_call_time,
            g.isolation,
            list(&g.dirs),
            list(&g.allowed_outbound_hosts),
            list(&g.env),
            list(&g.env_from_host)
        );
        let _ = writeln!(out, "  build ID part: {}", l.build_id_part);
        for w in &l.warnings {
            let _ = writeln!(out, "  warning: {w}");
        }
    }
    let refused = reports.iter().filter(|r| !r.ok).count();
    let _ = writeln!(
        out,
        "{} file(s): {} would load, {refused} refused",
        reports.len(),
        reports.len() - refused
    );
    out
}
