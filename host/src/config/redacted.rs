//! What the start-up log line shows of the settings: every one of them, the API key redacted.

use super::Config;

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("address", &self.address.as_str())
            .field("namespace", &self.namespace)
            .field("task_queue", &self.task_queue)
            .field("build_id", &self.build_id)
            .field("deployment_name", &self.deployment_name)
            .field("metrics_addr", &self.metrics_addr)
            .field("status_addr", &self.status_addr)
            .field(
                "max_concurrent_workflow_tasks",
                &self.max_concurrent_workflow_tasks,
            )
            .field("max_concurrent_activities", &self.max_concurrent_activities)
            .field("max_cached_workflows", &self.max_cached_workflows)
            .field("workflow_memory_budget", &self.workflow_memory_budget)
            .field("allow_absolute_grants", &self.allow_absolute_grants)
            .field("conversion_budget", &self.conversion_budget)
            .field("plugins_dir", &self.plugins_dir)
            .field("shutdown_grace", &self.shutdown_grace)
            .field("compile_cache", &self.compile_cache)
            .field("secrets_file", &self.secrets_file)
            .field("default_versioning", &self.default_versioning)
            .field("rollout", &self.rollout)
            .field("drain_limit", &self.drain_limit)
            .field("connect_timeout", &self.connect_timeout)
            .field("status_interval", &self.status_interval)
            .field("log_filter", &self.log_filter)
            .field("log_format", &self.log_format)
            .field("otlp", &self.otlp)
            .field("tls", &self.tls)
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field(
                "grpc_meta",
                &self
                    .grpc_meta
                    .keys()
                    .map(|k| (k, "<redacted>"))
                    .collect::<Vec<_>>(),
            )
            .field("temporal_config_file", &self.temporal_config_file)
            .field("config_file", &self.config_file)
            .finish()
    }
}
