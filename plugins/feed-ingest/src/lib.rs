//! wasm-worker's ingestion example: an activity that reaches the world through its grant.
//!
//! Build: `cargo build --release --target wasm32-wasip2` (or `make plugins` at the top level),
//! then put `feed_ingest.wasm` in the plugins folder with a manifest that grants the feed's
//! host, e.g. `feed_ingest.toml`: `allowed_outbound_hosts = ["https://feeds.example.com"]`.

wit_bindgen::generate!({
    world: "feed-ingest",
    path: "wit",
    generate_all,
});

use exports::example::feed_ingest::ingest::{FeedSummary, Guest};
use sha2::{Digest, Sha256};
use std::collections::HashSet;
use wasip2::http::outgoing_handler::handle;
use wasip2::http::types::{Fields, IncomingBody, OutgoingRequest, Scheme};
use wasip2::io::streams::StreamError;
use wasm_worker::plugin::log::{Level, log};

struct Plugin;

impl Guest for Plugin {
    fn ingest_feed(url: String) -> Result<FeedSummary, String> {
        let (status, body) = get(&url)?;
        if !(200..300).contains(&status) {
            return Err(format!("{url} answered HTTP {status}"));
        }
        let feed: serde_json::Value =
            serde_json::from_slice(&body).map_err(|e| format!("{url} is not JSON: {e}"))?;
        let items = feed
            .get("items")
            .and_then(|i| i.as_array())
            .ok_or_else(|| format!("{url}: the feed has no `items` array"))?;
        let mut ids = HashSet::new();
        let invalid = items
            .iter()
            .filter(|item| match item.get("id") {
                Some(id) => !ids.insert(id.to_string()),
                None => true,
            })
            .count();
        log(
            Level::Info,
            &format!(
                "{url}: {} items, {invalid} invalid, {} bytes",
                items.len(),
                body.len()
            ),
        );
        Ok(FeedSummary {
            url,
            status,
            items: u32::try_from(items.len()).unwrap_or(u32::MAX),
            invalid_items: u32::try_from(invalid).unwrap_or(u32::MAX),
            bytes: body.len() as u64,
            sha256: Sha256::digest(&body)
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect(),
        })
    }
}

/// GETs `url`; the status and the whole body, or the error the host or the server gave.
fn get(url: &str) -> Result<(u16, Vec<u8>), String> {
    let (scheme, rest) = url
        .split_once("://")
        .ok_or_else(|| format!("{url}: expected http(s)://host/path"))?;
    let (authority, path) = rest
        .split_once('/')
        .map_or((rest, "/".to_string()), |(a, p)| (a, format!("/{p}")));
    let headers = Fields::new();
    if let Ok(token) = std::env::var("FEED_TOKEN") {
        headers
            .append("authorization", format!("Bearer {token}").as_bytes())
            .map_err(|e| format!("authorization header: {e:?}"))?;
    }
    let request = OutgoingRequest::new(headers);
    let scheme = match scheme {
        "https" => Scheme::Https,
        "http" => Scheme::Http,
        other => return Err(format!("{url}: unsupported scheme {other}")),
    };
    request
        .set_scheme(Some(&scheme))
        .map_err(|()| "bad scheme")?;
    request
        .set_authority(Some(authority))
        .map_err(|()| format!("{url}: bad host"))?;
    request
        .set_path_with_query(Some(&path))
        .map_err(|()| format!("{url}: bad path"))?;
    let pending = handle(request, None).map_err(|e| format!("{url}: {e:?}"))?;
    pending.subscribe().block();
    let response = match pending.get() {
        Some(Ok(Ok(response))) => response,
        Some(Ok(Err(e))) => return Err(format!("{url}: {e:?}")),
        _ => return Err(format!("{url}: no response")),
    };
    let status = response.status();
    let body = response.consume().map_err(|()| "body taken twice")?;
    let stream = body.stream().map_err(|()| "stream taken twice")?;
    let mut bytes = Vec::new();
    loop {
        match stream.blocking_read(64 * 1024) {
            Ok(chunk) => bytes.extend_from_slice(&chunk),
            Err(StreamError::Closed) => break,
            Err(StreamError::LastOperationFailed(e)) => {
                let code = wasip2::http::types::http_error_code(&e);
                return Err(format!("{url}: reading the body failed: {code:?}"));
            }
        }
    }
    drop(stream);
    IncomingBody::finish(body).subscribe().block();
    Ok((status, bytes))
}

export!(Plugin);
