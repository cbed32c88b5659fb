//! A test plugin: one echo per WIT type (the host's conversions are checked end to end) and
//! hostile functions that the host must contain.

wit_bindgen::generate!({
    world: "test-activities",
    path: "wit",
    generate_all,
});

use exports::test::activities::echo::{Color, Guest as Echo, Payload, Perms, Point, Shape};
use exports::test::activities::hostile::Guest as Hostile;
use wasm_worker::plugin::activity;
use wasm_worker::plugin::log::{Level, log};

struct Plugin;

impl Echo for Plugin {
    fn echo_bool(v: bool) -> bool {
        v
    }
    fn echo_s8(v: i8) -> i8 {
        v
    }
    fn echo_u8(v: u8) -> u8 {
        v
    }
    fn echo_s16(v: i16) -> i16 {
        v
    }
    fn echo_u16(v: u16) -> u16 {
        v
    }
    fn echo_s32(v: i32) -> i32 {
        v
    }
    fn echo_u32(v: u32) -> u32 {
        v
    }
    fn echo_s64(v: i64) -> i64 {
        v
    }
    fn echo_u64(v: u64) -> u64 {
        v
    }
    fn echo_f32(v: f32) -> f32 {
        v
    }
    fn echo_f64(v: f64) -> f64 {
        v
    }
    fn echo_char(v: char) -> char {
        v
    }
    fn echo_string(v: String) -> String {
        v
    }
    fn echo_list(v: Vec<u32>) -> Vec<u32> {
        v
    }
    fn echo_bytes(v: Vec<u8>) -> Vec<u8> {
        v
    }
    fn echo_point(v: Point) -> Point {
        v
    }
    fn echo_tuple(v: (String, u8, bool)) -> (String, u8, bool) {
        v
    }
    fn echo_option(v: Option<String>) -> Option<String> {
        v
    }
    fn echo_result(v: Result<u32, String>) -> Result<u32, String> {
        v
    }
    fn wrap_results(v: Vec<Result<u32, String>>) -> Vec<Result<u32, String>> {
        v
    }
    fn echo_shape(v: Shape) -> Shape {
        v
    }
    fn echo_color(v: Color) -> Color {
        v
    }
    fn echo_perms(v: Perms) -> Perms {
        v
    }
    fn add(a: i64, b: i64) -> i64 {
        a.wrapping_add(b)
    }
    fn nothing() {}
    fn raw_echo(p: Payload) -> Payload {
        p
    }
}

impl Hostile for Plugin {
    fn spin() {
        let mut n: u64 = 0;
        loop {
            n = std::hint::black_box(n.wrapping_add(1));
        }
    }

    fn hog_memory() -> u64 {
        let mut held: Vec<Vec<u8>> = Vec::new();
        loop {
            held.push(vec![1u8; 1 << 20]);
            std::hint::black_box(&held);
        }
    }

    fn trap() {
        core::arch::wasm32::unreachable()
    }

    fn count_calls(then_trap: bool) -> u32 {
        static CALLS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        if then_trap {
            core::arch::wasm32::unreachable()
        }
        n
    }

    fn recurse(depth: u32) -> u32 {
        // Each frame keeps a buffer live so the optimiser cannot turn this into a loop.
        let frame = std::hint::black_box([depth as u8; 256]);
        if depth == 0 {
            return u32::from(frame[0]);
        }
        Self::recurse(depth - 1).wrapping_add(u32::from(frame[255]))
    }

    fn big_result(mib: u32) -> String {
        "x".repeat((mib as usize) << 20)
    }

    fn log_flood(records: u32, kib: u32) -> u32 {
        let record = "y".repeat((kib as usize) << 10);
        for _ in 0..records {
            log(Level::Info, &record);
        }
        records
    }

    fn many_bools(n: u32) -> Vec<bool> {
        (0..n).map(|i| i % 2 == 0).collect()
    }

    fn panic(message: String) {
        panic!("{message}")
    }

    fn read_file(path: String) -> Result<String, String> {
        std::fs::read_to_string(&path).map_err(|e| e.to_string())
    }

    fn write_file(path: String, contents: String) -> Result<(), String> {
        std::fs::write(&path, contents).map_err(|e| e.to_string())
    }

    fn env_var(name: String) -> Option<String> {
        std::env::var(name).ok()
    }

    fn connect(addr: String) -> Result<String, String> {
        std::net::TcpStream::connect(addr.as_str())
            .map(|_| "connected".to_string())
            .map_err(|e| e.to_string())
    }

    fn http_get(url: String) -> Result<String, String> {
        let pending = start_get(&url)?;
        pending.subscribe().block();
        let response = response_of(&pending)?;
        let status = response.status();
        let body = read_body(response)?;
        Ok(format!("status {status}\n{body}"))
    }

    fn http_get_many(url: String, n: u32) -> Result<u32, String> {
        let pending = (0..n)
            .map(|_| start_get(&url))
            .collect::<Result<Vec<_>, _>>()?;
        let mut ok = 0;
        for p in &pending {
            p.subscribe().block();
            let response = response_of(p)?;
            if (200..300).contains(&response.status()) {
                ok += 1;
            }
            read_body(response)?;
        }
        Ok(ok)
    }

    fn info_json() -> String {
        let i = activity::info();
        format!(
            "{{\"activity_type\":{:?},\"workflow_type\":{:?},\"task_queue\":{:?},\"attempt\":{},\"has_deadline\":{}}}",
            i.activity_type,
            i.workflow_type,
            i.task_queue,
            i.attempt,
            i.deadline_unix_ms.is_some()
        )
    }

    fn heartbeat_then_fail(details: String) -> Result<String, String> {
        let info = activity::info();
        if info.attempt == 1 {
            activity::heartbeat(Some(&details));
            return Err(format!("attempt {} fails on purpose", info.attempt));
        }
        Ok(info
            .heartbeat_details
            .unwrap_or_else(|| "no details".into()))
    }

    fn wait_for_cancel() -> String {
        log(Level::Info, "waiting for cancellation");
        loop {
            activity::heartbeat(None);
            if activity::is_cancelled() {
                return "saw the cancellation".into();
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }

    fn fail_percent(n: u32) -> Result<u32, String> {
        let percent: u32 = std::env::var("FAIL_PERCENT")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        if (n % 10) * 10 < percent {
            return Err(format!("input {n} fails on purpose ({percent}% of inputs do)"));
        }
        Ok(n)
    }

    fn sleep_ms(ms: u32) -> String {
        std::thread::sleep(std::time::Duration::from_millis(u64::from(ms)));
        format!("slept {ms} ms")
    }

    fn print_lines(n: u32) {
        for i in 0..n {
            println!("line {i}");
        }
        eprintln!("done printing");
    }
}

export!(Plugin);

/// Starts a GET of `url` through `wasi:http`.
fn start_get(url: &str) -> Result<wasip2::http::types::FutureIncomingResponse, String> {
    use wasip2::http::outgoing_handler::handle;
    use wasip2::http::types::{Fields, OutgoingRequest, Scheme};
    let (scheme, rest) = url.split_once("://").ok_or("no scheme")?;
    let (authority, path) = rest
        .split_once('/')
        .map_or((rest, "/".to_string()), |(a, p)| (a, format!("/{p}")));
    let request = OutgoingRequest::new(Fields::new());
    request
        .set_scheme(Some(&if scheme == "https" {
            Scheme::Https
        } else {
            Scheme::Http
        }))
        .map_err(|()| "bad scheme")?;
    request
        .set_authority(Some(authority))
        .map_err(|()| "bad authority")?;
    request
        .set_path_with_query(Some(&path))
        .map_err(|()| "bad path")?;
    // Refused either at once or when the response future resolves.
    handle(request, None).map_err(|e| format!("{e:?}"))
}

/// The response of a resolved request, or its error code.
fn response_of(
    pending: &wasip2::http::types::FutureIncomingResponse,
) -> Result<wasip2::http::types::IncomingResponse, String> {
    match pending.get() {
        Some(Ok(Ok(response))) => Ok(response),
        Some(Ok(Err(e))) => Err(format!("{e:?}")),
        Some(Err(())) => Err("response taken twice".to_string()),
        None => Err("no response after the pollable was ready".to_string()),
    }
}

/// Reads the whole body as text; a failure mid-body is the error code.
fn read_body(response: wasip2::http::types::IncomingResponse) -> Result<String, String> {
    use wasip2::io::streams::StreamError;
    let body = response.consume().map_err(|()| "body taken twice")?;
    let stream = body.stream().map_err(|()| "stream taken twice")?;
    let mut bytes = Vec::new();
    loop {
        match stream.blocking_read(64 * 1024) {
            Ok(chunk) => bytes.extend_from_slice(&chunk),
            Err(StreamError::Closed) => break,
            Err(StreamError::LastOperationFailed(e)) => {
                let code = wasip2::http::types::http_error_code(&e);
                return Err(format!("reading the body failed: {code:?}: {}", e.to_debug_string()));
            }
        }
    }
    drop(stream);
    let trailers = wasip2::http::types::IncomingBody::finish(body);
    trailers.subscribe().block();
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}
