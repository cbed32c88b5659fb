//! `wasi:http` for activities: every outgoing request goes to the plugin's [`Egress`], which
//! sends what its manifest grants and refuses the rest (with no grant, everything — an error
//! the guest sees and can report). componentize-js will not instantiate without `wasi:http`,
//! so it is linked for every plugin.

use crate::runtime::outbound::{Egress, Sent};
use std::sync::Arc;
use wasmtime_wasi_http::{Error, RequestOptions, WasiBody, WasiHttpHooks};

/// One attempt's hooks.
pub(super) struct OutboundHttp {
    pub(super) egress: Arc<Egress>,
    /// The attempt's activity type, for refusals' messages.
    pub(super) activity_type: Arc<str>,
}

impl WasiHttpHooks for OutboundHttp {
    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        _options: Option<RequestOptions>,
        _fut: Box<dyn Future<Output = Result<(), Error>> + Send>,
    ) -> Box<dyn Future<Output = wasmtime_wasi_http::Result<Sent>> + Send> {
        Box::new(
            self.egress
                .clone()
                .send(request, self.activity_type.clone()),
        )
    }
}
