//! One activity attempt in a plugin: payloads → WIT values, a fresh instance under a deadline,
//! a memory limit and the task's cancellation, WIT values → payload; every failure named by
//! plugin, function and cause.

use super::ActivityPlugin;
use super::exports::ExportedFunction;
use crate::activity::{ActivityContext, ActivityError};
use crate::metrics::HostMetrics;
use crate::runtime::activity_host::{ActivityState, OUTPUT_CAPACITY, Output};
use crate::runtime::limits::{self, MemoryLimitExceeded};
use crate::runtime::output::{STDERR_TAIL_LINES, last_lines, printable};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};
use temporalio_common::protos::temporal::api::common::v1::Payload;

use wasmtime::component::Val;
use wasmtime::{Trap, WasmBacktrace};

/// Why an attempt failed, for the failure type and the metrics label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cause {
    Conversion,
    Trap,
    Deadline,
    Memory,
    PluginError,
    Cancelled,
    /// The sandbox could not be set up (a granted folder vanished, for instance): the host's
    /// side, not the guest's code.
    Sandbox,
}

impl Cause {
    fn label(self) -> &'static str {
        match self {
            Cause::Conversion => "conversion",
            Cause::Trap => "trap",
            Cause::Deadline => "deadline",
            Cause::Memory => "memory",
            Cause::PluginError => "plugin_error",
            Cause::Cancelled => "cancelled",
            Cause::Sandbox => "sandbox",
        }
    }
}

/// One activity type's series, looked up once when it is registered rather than hashed by
/// label on every call.
pub(super) struct CallMetrics {
    calls: prometheus::IntCounter,
    seconds: prometheus::Histogram,
    failures: prometheus::IntCounterVec,
}

impl CallMetrics {
    pub(super) fn new(metrics: &HostMetrics, plugin: &str, activity_type: &str) -> Self {
        let labels = [plugin, activity_type];
        CallMetrics {
            calls: metrics.plugin_calls.with_label_values(&labels),
            seconds: metrics.plugin_call_seconds.with_label_values(&labels),
            failures: metrics.plugin_failures.clone(),
        }
    }
}

/// Everything one attempt needs.
pub(super) struct Call {
    pub(super) plugin: Arc<ActivityPlugin>,
    pub(super) function: ExportedFunction,
    pub(super) plugin_name: Arc<str>,
    pub(super) metrics: Arc<CallMetrics>,
}

impl Call {
    /// Runs the attempt and records its metrics.
    pub(super) async fn run(
        self,
        ctx: ActivityContext,
        input: Vec<Payload>,
    ) -> Result<Payload, ActivityError> {
        let m = &self.metrics;
        m.calls.inc();
        let started = Instant::now();
        let outcome = self.attempt(ctx, input).await;
        m.seconds.observe(started.elapsed().as_secs_f64());
        outcome.map_err(|(cause, err)| {
            m.failures
                .with_label_values(&[
                    &*self.plugin_name,
                    self.function.activity_type.as_str(),
                    cause.label(),
                ])
                .inc();
            err
        })
    }

    fn who(&self) -> String {
        format!(
            "plugin {}, function `{}`",
            self.plugin_name, self.function.name
        )
    }

    async fn attempt(
        &self,
        ctx: ActivityContext,
        input: Vec<Payload>,
    ) -> Result<Payload, (Cause, ActivityError)> {
        // Held until the result is encoded: the argument values live as long as the call.
        let _conversion = self
            .plugin
            .conversions
            .reserve(input.iter().map(|p| p.data.len()).sum())
            .await;
        let args = self.arguments(&input).map_err(|e| {
            // The caller sees this as the activity's failure; the operator may not be the
            // caller, so the host says it too (at debug: a client can repeat it at will).
            tracing::debug!(plugin = %self.plugin_name, function = %self.function.name, error = %e, "activity arguments refused");
            (Cause::Conversion, e)
        })?;
        let limit = self.time_limit(&ctx);
        let cancelled = ctx.cancelled.clone();
        let activity_type = self.function.activity_type.as_str();
        let (mut store, kept, output, calls) = match self
            .plugin
            .warm
            .as_ref()
            .and_then(|w| w.take(activity_type))
        {
            Some(mut warm) => {
                warm.store.data_mut().begin(ctx);
                warm.store.epoch_deadline_async_yield_and_update(1);
                (warm.store, Some(warm.instance), warm.output, warm.calls)
            }
            None => {
                let (state, output) = self.state(ctx)?;
                let store = limits::store(self.plugin.pre.engine(), state);
                (store, None, output, 0)
            }
        };

        let n_results = usize::from(self.function.result.is_some());
        let mut results = vec![Val::Bool(false); n_results];
        let work = async {
            let instance = match kept {
                Some(i) => i,
                None => self.plugin.pre.instantiate_async(&mut store).await?,
            };
            let func = instance
                .get_func(&mut store, self.function.index)
                .ok_or_else(|| wasmtime::format_err!("export `{}` vanished", self.function.name))?;
            func.call_async(&mut store, &args, &mut results).await?;
            Ok(instance)
        };
        let outcome = tokio::select! {
            r = work => r.map_err(Some),
            () = cancelled.cancelled() => Err(None),
            () = tokio::time::sleep(limit) => {
                self.log_output(&output, store.data().log_dropped());
                return Err((
                    Cause::Deadline,
                    ActivityError::retryable(
                        "DeadlineExceeded",
                        format!("{}: still running after {limit:?}; the call was interrupted", self.who()),
                    ),
                ));
            }
        };
        let stderr_tail = self.log_output(&output, store.data().log_dropped());
        match outcome {
            Ok(instance) => {
                // Only an instance whose call returned normally is kept: after a trap, a
                // deadline or a cancellation its state is half-way through something.
                if let Some(warm) = &self.plugin.warm {
                    warm.put(activity_type, store, instance, output, calls + 1);
                }
                self.result(results.into_iter().next())
                    .and_then(|p| self.within_limit(p))
            }
            Err(None) => Err((Cause::Cancelled, ActivityError::Cancelled)),
            Err(Some(e)) => Err(self.classify(&e, &stderr_tail)),
        }
    }

    /// A fresh instance's store state, granting what the manifest grants.
    fn state(
        &self,
        ctx: ActivityContext,
    ) -> Result<(ActivityState, Output), (Cause, ActivityError)> {
        ActivityState::new(
            self.plugin_name.clone(),
            &self.plugin.source.manifest,
            ctx,
            &self.plugin.egress,
            &self.plugin.secrets,
        )
        .map_err(|e| {
            (
                Cause::Sandbox,
                ActivityError::retryable("SandboxSetup", format!("{}: {e:#}", self.who())),
            )
        })
    }

    /// The call's time limit: the attempt's remaining start-to-close time, capped by the
    /// manifest's (or host's) maximum.
    fn time_limit(&self, ctx: &ActivityContext) -> Duration {
        let max = self.plugin.source.manifest.max_call_time;
        ctx.info
            .deadline
            .map(|d| {
                d.duration_since(SystemTime::now())
                    .unwrap_or(Duration::ZERO)
            })
            .map_or(max, |left| left.min(max))
    }

    fn arguments(&self, input: &[Payload]) -> Result<Vec<Val>, ActivityError> {
        super::arguments::values(&self.function, &self.who(), input)
    }

    /// Names the cause of a failed call, with the trap message, the WASM backtrace and the
    /// last lines the guest wrote to stderr (a Rust panic message lands there).
    fn classify(&self, e: &wasmtime::Error, stderr_tail: &str) -> (Cause, ActivityError) {
        let mut extra = String::new();
        if !stderr_tail.is_empty() {
            extra.push_str(&format!("\nguest stderr:\n{stderr_tail}"));
        }
        if let Some(bt) = e.downcast_ref::<WasmBacktrace>() {
            extra.push_str(&format!("\n{bt}"));
        }
        if MemoryLimitExceeded::caused(e).is_some() {
            let mib = self.plugin.source.manifest.memory_limit >> 20;
            return (
                Cause::Memory,
                ActivityError::retryable(
                    "MemoryLimitExceeded",
                    format!(
                        "{}: exceeded its memory limit of {mib} MiB{extra}",
                        self.who()
                    ),
                ),
            );
        }
        // wasmtime refuses to lift more than its hostcall budget (far above the payload limit):
        // the same mistake as a result over the limit, caught earlier. wasmtime's error type
        // for it (`HostcallFuelExhausted`) is private and it carries no `Trap` code, so only
        // its text tells: the one decision here made by message.
        let text = format!("{e:#}");
        if text.contains("too much data is being copied between the host and the guest") {
            return (
                Cause::Conversion,
                ActivityError::non_retryable(
                    "ResultTooLarge",
                    format!(
                        "{}: the result exceeds the {} MiB payload limit by far (the runtime refused to copy it); return a reference (a URL, a key) instead of the data",
                        self.who(),
                        result::MAX_RESULT_BYTES >> 20
                    ),
                ),
            );
        }
        let what = match e.downcast_ref::<Trap>() {
            // Compilers for wasm keep a shadow stack in linear memory: unbounded recursion
            // usually runs off its end as an out-of-bounds access, not as a native stack
            // overflow. Say so, or the message points nowhere.
            Some(trap @ Trap::MemoryOutOfBounds) => format!(
                "trapped: {trap} (deep or unbounded recursion overflowing the guest's stack looks like this)"
            ),
            Some(trap) => format!("trapped: {trap}"),
            None => format!("failed: {text}"),
        };
        (
            Cause::Trap,
            ActivityError::retryable("Trap", format!("{}: {what}{extra}", self.who())),
        )
    }

    /// Turns captured stdout/stderr into log records; returns the last few stderr lines.
    /// `log_dropped`: the guest's `log` records dropped for want of budget.
    fn log_output(&self, output: &Output, log_dropped: usize) -> String {
        let plugin = &*self.plugin_name;
        let activity_type = self.function.activity_type.as_str();
        let (out, out_dropped) = output.stdout.take();
        for line in String::from_utf8_lossy(&out)
            .lines()
            .filter(|l| !l.is_empty())
        {
            let line = printable(line);
            tracing::info!(target: "plugin", plugin, activity_type, stream = "stdout", "{line}");
        }
        let (err, err_dropped) = output.stderr.take();
        let text = String::from_utf8_lossy(&err);
        for line in text.lines().filter(|l| !l.is_empty()) {
            let line = printable(line);
            tracing::warn!(target: "plugin", plugin, activity_type, stream = "stderr", "{line}");
        }
        if out_dropped + err_dropped + log_dropped > 0 {
            tracing::warn!(
                target: "plugin",
                plugin,
                activity_type,
                stdout_dropped = out_dropped,
                stderr_dropped = err_dropped,
                log_records_dropped = log_dropped,
                "plugin output beyond {OUTPUT_CAPACITY} bytes per stream was dropped"
            );
        }
        last_lines(&text, STDERR_TAIL_LINES)
    }
}

#[path = "call_result.rs"]
mod result;
