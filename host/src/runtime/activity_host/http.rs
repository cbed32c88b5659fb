//! `wasi:http` is linked (componentize-js will not instantiate without it) but every outgoing
//! request is refused with `HTTP-request-denied`, an error the guest sees and can report.

use wasmtime_wasi_http::{Error, RequestOptions, WasiBody, WasiHttpHooks};

/// Hooks that deny all outbound HTTP, counting each refusal.
pub(super) struct DenyOutbound {
    pub(super) plugin: std::sync::Arc<str>,
    pub(super) denied: prometheus::IntCounter,
}

type Sent = wasmtime_wasi_http::Result<(
    http::Response<WasiBody>,
    Box<dyn Future<Output = Result<(), Error>> + Send>,
)>;

impl WasiHttpHooks for DenyOutbound {
    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        _options: Option<RequestOptions>,
        _fut: Box<dyn Future<Output = Result<(), Error>> + Send>,
    ) -> Box<dyn Future<Output = Sent> + Send> {
        self.denied.inc();
        tracing::warn!(plugin = %self.plugin, uri = %request.uri(), "plugin's outbound HTTP request denied (outbound HTTP is not grantable)");
        Box::new(async { Err(Error::HttpRequestDenied) })
    }
}
