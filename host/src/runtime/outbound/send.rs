//! One outbound HTTP request: the grant checked, the name resolved by the host and every
//! address checked against the grant, a connection to a checked address (so the name cannot
//! resolve differently between the check and the connection), TLS with the plugin's trust,
//! HTTP/1.1 with no redirect followed, and time and size bounded by the plugin's limits.
//!
//! The returned futures own the connection: when the guest's request or response resource is
//! dropped — the attempt ended, was cancelled or timed out and its store went away — wasi:http
//! aborts them, and with them the connection.

use super::Egress;
use super::body::LimitedBody;
use crate::allow_list::{Rule, default_port, parse_ip};
use http_body_util::BodyExt;
use std::future::poll_fn;
use std::net::SocketAddr;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Poll, ready};
use std::time::Instant;
use tokio::net::TcpStream;
use wasmtime_wasi_http::io::TokioIo;
use wasmtime_wasi_http::{Error, WasiBody};

/// What `WasiHttpHooks::send_request` hands back: the response, and the future that drives
/// the rest of the connection.
pub type Sent = (
    http::Response<WasiBody>,
    Box<dyn Future<Output = Result<(), Error>> + Send>,
);

/// Why a granted request did not get a response.
enum Failed {
    /// Refused after all (an address the grant does not reach); the guest's message.
    Denied(String),
    /// The network, the peer or a limit.
    Error(Error),
}

impl From<Error> for Failed {
    fn from(e: Error) -> Self {
        Failed::Error(e)
    }
}

impl From<hyper::Error> for Failed {
    fn from(e: hyper::Error) -> Self {
        Failed::Error(Error::from(e))
    }
}

/// A stream TLS or plain.
trait Stream: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin + 'static {}
impl<T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin + 'static> Stream for T {}

impl Egress {
    /// Sends `request` for `activity_type` if the plugin's grants allow it.
    pub(crate) async fn send(
        self: Arc<Self>,
        request: http::Request<WasiBody>,
        activity_type: Arc<str>,
    ) -> Result<Sent, Error> {
        let uri = request.uri().clone();
        let scheme = uri.scheme_str().unwrap_or("https").to_ascii_lowercase();
        let host = uri.host().ok_or(Error::HttpRequestUriInvalid)?.to_string();
        let port = uri
            .port_u16()
            .or_else(|| default_port(&scheme))
            .ok_or(Error::HttpRequestUriInvalid)?;
        // Logged without its query string: queries carry tokens.
        let target = format!("{scheme}://{host}:{port}{}", uri.path());
        let Some(rule) = self.allow.find(&scheme, &host, port) else {
            let reason =
                format!("no entry in allowed_outbound_hosts covers {scheme}://{host}:{port}");
            let message = self.deny("http", &activity_type, &target, &reason);
            return Err(Error::InternalError(Some(message)));
        };
        let rule = rule.clone();
        let started = Instant::now();
        let outcome = self
            .clone()
            .send_granted(
                &rule,
                request,
                &host,
                port,
                scheme == "https",
                &activity_type,
                &target,
            )
            .await;
        let outcome = match outcome {
            Ok(sent) => Ok(sent),
            Err(Failed::Denied(message)) => return Err(Error::InternalError(Some(message))),
            Err(Failed::Error(e)) => Err(e),
        };
        let result = match &outcome {
            Ok(_) => "ok",
            Err(Error::ConnectionTimeout | Error::ConnectionReadTimeout | Error::DnsTimeout) => {
                "timeout"
            }
            Err(Error::HttpResponseBodySize(_)) => "too_large",
            Err(_) => "error",
        };
        let labels = [&*self.plugin, rule.text.as_str()];
        self.metrics
            .requests
            .with_label_values(&[labels[0], labels[1], result])
            .inc();
        self.metrics
            .seconds
            .with_label_values(&labels)
            .observe(started.elapsed().as_secs_f64());
        if let Err(e) = &outcome {
            tracing::debug!(plugin = %self.plugin, %activity_type, %target, error = %e, "outbound request failed");
        }
        outcome
    }

    #[allow(clippy::too_many_arguments)]
    async fn send_granted(
        self: Arc<Self>,
        rule: &Rule,
        mut request: http::Request<WasiBody>,
        host: &str,
        port: u16,
        tls: bool,
        activity_type: &str,
        target: &str,
    ) -> Result<Sent, Failed> {
        let limits = &self.limits;
        let permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| Error::ConnectionLimitReached)?;
        let addrs = self
            .resolve(rule, host, port, activity_type, target)
            .await?;
        let stream = connect(&addrs, limits.connect_timeout).await?;
        let stream: Box<dyn Stream> = if tls {
            let name = match parse_ip(host) {
                Some(ip) => rustls::pki_types::ServerName::from(ip),
                None => rustls::pki_types::ServerName::try_from(host.to_string())
                    .map_err(|_| Error::HttpRequestUriInvalid)?,
            };
            let connector = tokio_rustls::TlsConnector::from(self.tls.clone());
            let handshake = connector.connect(name, stream);
            match tokio::time::timeout(limits.connect_timeout, handshake).await {
                Err(_) => return Err(Error::ConnectionTimeout.into()),
                Ok(Err(e)) => return Err(tls_error(e).into()),
                Ok(Ok(s)) => Box::new(s),
            }
        } else {
            Box::new(stream)
        };
        let (mut sender, conn) = tokio::time::timeout(
            limits.connect_timeout,
            hyper::client::conn::http1::handshake(TokioIo::new(stream)),
        )
        .await
        .map_err(|_| Error::ConnectionTimeout)??;
        // On the wire the request line carries the path only; the host header carries the
        // authority (wasi:http set it).
        let path = request
            .uri()
            .path_and_query()
            .map_or("/", |p| p.as_str())
            .to_string();
        *request.uri_mut() = path.parse().map_err(|_| Error::HttpRequestUriInvalid)?;
        let first_byte = limits.first_byte_timeout;
        let send = async move {
            tokio::time::timeout(first_byte, sender.send_request(request))
                .await
                .map_err(|_| Error::ConnectionReadTimeout)?
                .map_err(Error::from)
        };
        // Drive the connection while waiting for the response (one task: nothing outlives
        // the guest's resources).
        let mut send = pin!(send);
        let mut conn = Some(conn);
        let response = poll_fn(|cx| match send.as_mut().poll(cx) {
            Poll::Ready(r) => Poll::Ready(r),
            Poll::Pending => {
                let Some(c) = conn.as_mut() else {
                    return Poll::Pending;
                };
                let done = ready!(std::pin::Pin::new(c).poll(cx));
                conn = None;
                match done {
                    Ok(()) => send.as_mut().poll(cx),
                    Err(e) => Poll::Ready(Err(Error::from(e))),
                }
            }
        })
        .await?;
        let declared = response
            .headers()
            .get(http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        let too_large = self.metrics.requests.with_label_values(&[
            &*self.plugin,
            rule.text.as_str(),
            "too_large",
        ]);
        if declared.is_some_and(|n| n > limits.max_response_bytes) {
            return Err(Error::HttpResponseBodySize(declared).into());
        }
        // The request is answered: its permit goes to the next one (see `body.rs`).
        drop(permit);
        let response = response.map(|incoming| {
            LimitedBody::new(incoming, limits.max_response_bytes, first_byte, too_large)
                .boxed_unsync()
        });
        Ok((
            response,
            Box::new(async move {
                match conn {
                    Some(c) => c.await.map_err(Error::from),
                    None => Ok(()),
                }
            }),
        ))
    }

    /// The addresses `host` may be reached at under `rule`: an IP literal as written, a name
    /// as the host resolves it, each address checked ([`Rule::may_reach`]).
    async fn resolve(
        &self,
        rule: &Rule,
        host: &str,
        port: u16,
        activity_type: &str,
        target: &str,
    ) -> Result<Vec<SocketAddr>, Failed> {
        let found: Vec<SocketAddr> = match parse_ip(host) {
            Some(ip) => vec![SocketAddr::new(ip, port)],
            None => {
                let lookup = tokio::net::lookup_host((host, port));
                match tokio::time::timeout(self.limits.connect_timeout, lookup).await {
                    Err(_) => return Err(Error::DnsTimeout.into()),
                    Ok(Err(e)) => {
                        return Err(Error::DnsError {
                            rcode: Some(e.to_string()),
                            info_code: None,
                        }
                        .into());
                    }
                    Ok(Ok(addrs)) => addrs.collect(),
                }
            }
        };
        reachable(rule, host, found)
            .map_err(|reason| Failed::Denied(self.deny("http", activity_type, target, &reason)))
    }
}

/// The addresses of `found` that `rule` may reach; the refusal's reason when none is.
/// Internal addresses among public ones are dropped (a name with one record pointing inside
/// must not become a way in).
fn reachable(rule: &Rule, host: &str, found: Vec<SocketAddr>) -> Result<Vec<SocketAddr>, String> {
    let (allowed, refused): (Vec<SocketAddr>, Vec<SocketAddr>) =
        found.into_iter().partition(|a| rule.may_reach(a.ip()));
    if allowed.is_empty() {
        let addrs: Vec<String> = refused.iter().map(|a| a.ip().to_string()).collect();
        return Err(format!(
            "{host} resolves to internal address {}, which {rule} does not reach (a wildcard never does; list the host or address itself)",
            addrs.join(", ")
        ));
    }
    Ok(allowed)
}

/// A TCP connection to the first address that answers, all addresses together within
/// `timeout` (a name with many silent records must not hold a permit for each in turn).
async fn connect(addrs: &[SocketAddr], timeout: std::time::Duration) -> Result<TcpStream, Error> {
    let attempts = async {
        let mut last = Error::DestinationNotFound;
        for addr in addrs {
            match TcpStream::connect(addr).await {
                Ok(s) => {
                    let _ = s.set_nodelay(true);
                    return Ok(s);
                }
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
                    last = Error::ConnectionRefused;
                }
                Err(e) => last = Error::Connect(e),
            }
        }
        Err(last)
    };
    tokio::time::timeout(timeout, attempts)
        .await
        .unwrap_or(Err(Error::ConnectionTimeout))
}

/// A failed TLS handshake as the wasi:http error the guest understands.
fn tls_error(e: std::io::Error) -> Error {
    match e
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
    {
        Some(rustls::Error::InvalidCertificate(_)) => Error::TlsCertificateError,
        Some(rustls::Error::AlertReceived(alert)) => Error::TlsAlertReceived {
            alert_id: None,
            alert_message: Some(format!("{alert:?}")),
        },
        Some(_) => Error::TlsProtocolError,
        None => Error::Tls(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addrs(list: &[&str]) -> Vec<SocketAddr> {
        list.iter()
            .map(|ip| SocketAddr::new(ip.parse().expect("ip"), 80))
            .collect()
    }

    #[test]
    fn a_wildcard_never_reaches_an_internal_address_an_exact_name_may() {
        let wildcard = Rule::parse("http://*.example.org").expect("rule");
        let e = reachable(
            &wildcard,
            "meta.example.org",
            addrs(&["169.254.169.254", "127.0.0.1"]),
        )
        .expect_err("internal only");
        assert_eq!(
            e,
            "meta.example.org resolves to internal address 169.254.169.254, 127.0.0.1, which http://*.example.org does not reach (a wildcard never does; list the host or address itself)"
        );
        // Mixed records: only the public one is dialled.
        assert_eq!(
            reachable(
                &wildcard,
                "a.example.org",
                addrs(&["10.0.0.1", "93.184.216.34"])
            ),
            Ok(addrs(&["93.184.216.34"]))
        );
        let exact = Rule::parse("http://metadata.example.org").expect("rule");
        assert_eq!(
            reachable(&exact, "metadata.example.org", addrs(&["169.254.169.254"])),
            Ok(addrs(&["169.254.169.254"]))
        );
    }
}
