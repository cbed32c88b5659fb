//! The activity executor: each function an activity plugin exports becomes an [`Activity`]
//! that instantiates the plugin fresh for every attempt ([`call`]).

pub(crate) mod arguments;
mod call;
pub(crate) mod exports;
mod plugin;
mod warm;

pub(crate) use plugin::{ActivityPlugin, ActivityPluginError};

use crate::activity::{Activity, ActivityContext, ActivityError};
use crate::metrics::HostMetrics;
use exports::ExportedFunction;
use futures::future::BoxFuture;
use std::sync::Arc;
use temporalio_common::protos::temporal::api::common::v1::Payload;

/// One exported function of one plugin, as an activity type.
pub(crate) struct WasmActivity {
    plugin: Arc<ActivityPlugin>,
    function: ExportedFunction,
    plugin_name: Arc<str>,
    metrics: Arc<call::CallMetrics>,
}

impl WasmActivity {
    /// Every function of `plugin`, each with its activity type.
    pub(crate) fn all(
        plugin: &Arc<ActivityPlugin>,
        metrics: &HostMetrics,
    ) -> impl Iterator<Item = (String, WasmActivity)> {
        let name: Arc<str> = Arc::from(plugin.source.file.as_str());
        plugin.functions.iter().map(move |f| {
            (
                f.activity_type.clone(),
                WasmActivity {
                    plugin: plugin.clone(),
                    function: f.clone(),
                    plugin_name: name.clone(),
                    metrics: Arc::new(call::CallMetrics::new(metrics, &name, &f.activity_type)),
                },
            )
        })
    }
}

impl Activity for WasmActivity {
    fn execute(
        &self,
        ctx: ActivityContext,
        input: Vec<Payload>,
    ) -> BoxFuture<'static, Result<Payload, ActivityError>> {
        let call = call::Call {
            plugin: self.plugin.clone(),
            function: self.function.clone(),
            plugin_name: self.plugin_name.clone(),
            metrics: self.metrics.clone(),
        };
        Box::pin(call.run(ctx, input))
    }
}
