//! Bounded fuzzing of the two parsers that read untrusted bytes: the payload → WIT converter
//! (the bytes come from whoever starts workflows) and the manifest parser. Inputs are random
//! mutations of valid seeds, generated with a fixed-seed PRNG so a failure names the seed that
//! reproduces it. Properties: nothing panics; a payload the converter accepts converts back
//! and forth to the same value.
//!
//! Time-bounded by `WASM_WORKER_FUZZ_SECONDS` (default 5 per target; `make test` gives 30).
//! `cargo fuzz` needs a nightly toolchain, which this project does not install; these run on
//! stable in every CI run instead.

use crate::common::guests::{self, TEST_ACTIVITIES};
use serde_json::{Value as Json, json};
use std::time::{Duration, Instant};
use wasm_worker::convert::payload::{payload_to_val, val_to_payload, with_encoding};
use wasm_worker::manifest::Manifest;

/// xorshift64*: small, fast and reproducible from its seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

fn budget() -> Duration {
    let secs = std::env::var("WASM_WORKER_FUZZ_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5);
    Duration::from_secs(secs)
}

/// A random JSON value, biased toward the shapes WIT types take.
fn random_json(rng: &mut Rng, depth: u32) -> Json {
    let leaf = |rng: &mut Rng| -> Json {
        match rng.below(10) {
            0 => Json::Null,
            1 => json!(rng.below(2) == 0),
            2 => json!(rng.next() as i64),
            3 => json!(rng.below(300) as i64 - 150),
            4 => json!((rng.next() % 10_000) as f64 / 7.0),
            5 => json!(rng.pick(&[
                "", "a", "circle", "square", "empty", "red", "read", "x", "é", "😀"
            ])),
            6 => json!(u64::MAX),
            7 => json!(i64::MIN),
            8 => json!("ab"),
            _ => json!(1e300),
        }
    };
    if depth == 0 || rng.below(3) == 0 {
        return leaf(rng);
    }
    match rng.below(3) {
        0 => Json::Array(
            (0..rng.below(5))
                .map(|_| random_json(rng, depth - 1))
                .collect(),
        ),
        1 => {
            let keys = [
                "x",
                "y",
                "label",
                "unit-name",
                "unitName",
                "unit_name",
                "ok",
                "err",
                "circle",
                "square",
                "empty",
                "name",
            ];
            Json::Object(
                (0..rng.below(5))
                    .map(|_| (rng.pick(&keys).to_string(), random_json(rng, depth - 1)))
                    .collect(),
            )
        }
        _ => leaf(rng),
    }
}

/// Random bytes, often near-JSON.
fn random_bytes(rng: &mut Rng) -> Vec<u8> {
    let mut bytes = random_json(rng, 3).to_string().into_bytes();
    for _ in 0..rng.below(4) {
        if bytes.is_empty() {
            break;
        }
        let i = rng.below(bytes.len());
        match rng.below(3) {
            0 => bytes[i] = rng.next() as u8,
            1 => {
                bytes.remove(i);
            }
            _ => bytes.insert(i, *rng.pick(b"{}[]\",:0\\\x00\xff")),
        }
    }
    bytes
}

#[test]
fn the_converter_never_panics_and_round_trips_what_it_accepts() {
    let (set, _) = crate::plugin_loading::load(&[("t.wasm", guests::bytes(TEST_ACTIVITIES))], &[]);
    let types: Vec<_> = set.plugins[0]
        .functions
        .iter()
        .filter(|f| !f.raw)
        .flat_map(|f| f.params.iter().map(|(_, t)| t.clone()))
        .collect();
    assert!(types.len() > 20, "the echo functions cover every WIT kind");
    let seed = 0x5eed_0001;
    let mut rng = Rng(seed);
    let (started, mut runs, mut accepted) = (Instant::now(), 0u64, 0u64);
    while started.elapsed() < budget() {
        runs += 1;
        let ty = rng.pick(&types).clone();
        let encoding = *rng.pick(&[
            "json/plain",
            "json/plain",
            "json/plain",
            "binary/plain",
            "binary/null",
            "json/protobuf",
        ]);
        let payload = with_encoding(encoding, random_bytes(&mut rng));
        let converted = std::panic::catch_unwind(|| payload_to_val(&payload, &ty));
        let Ok(result) = converted else {
            panic!("payload_to_val panicked (seed {seed:#x}, run {runs}) on {payload:?}");
        };
        let Ok(val) = result else { continue };
        accepted += 1;
        let back = val_to_payload(&val, &ty).unwrap_or_else(|e| {
            panic!("accepted {payload:?} as {val:?} but cannot encode it back: {e}")
        });
        let again = payload_to_val(&back, &ty).expect("re-reading what we wrote");
        assert_eq!(
            again, val,
            "round trip of {payload:?} (seed {seed:#x}, run {runs})"
        );
    }
    eprintln!("converter fuzz: {runs} inputs, {accepted} accepted and round-tripped");
    assert!(
        accepted > 0 && runs > 1000,
        "the generator reaches valid inputs: {accepted}/{runs}"
    );
}

#[test]
fn the_manifest_parser_never_panics() {
    let seeds = [
        "memory_limit_mib = 128\nmax_call_time = \"2m\"\nenv = { A = \"b\" }\n",
        "[rename]\ngreet-activity = \"greet\"\n",
        "[[dir]]\nhost = \"/\"\nguest = \"/data\"\nwritable = true\n",
        "versioning = \"pinned\"\n[versioning_by_type]\nA = \"auto-upgrade\"\n",
    ];
    let seed = 0x5eed_0002;
    let mut rng = Rng(seed);
    let (started, mut runs) = (Instant::now(), 0u64);
    let dir = std::path::Path::new("/nonexistent-plugins");
    while started.elapsed() < budget() {
        runs += 1;
        let mut text = rng.pick(&seeds).as_bytes().to_vec();
        for _ in 0..1 + rng.below(6) {
            let i = rng.below(text.len() + 1);
            match rng.below(4) {
                0 if i < text.len() => text[i] = rng.next() as u8,
                1 if i < text.len() => {
                    text.remove(i);
                }
                2 => {
                    let other = rng.pick(&seeds).as_bytes();
                    let j = rng.below(other.len());
                    text.splice(i..i, other[j..].iter().copied().take(rng.below(20)));
                }
                _ => text.insert(i.min(text.len()), *rng.pick(b"=\"[]{}\n.#-0 \\")),
            }
        }
        let text = String::from_utf8_lossy(&text).into_owned();
        if std::panic::catch_unwind(|| Manifest::parse(&text, dir)).is_err() {
            panic!("Manifest::parse panicked (seed {seed:#x}, run {runs}) on {text:?}");
        }
    }
    eprintln!("manifest fuzz: {runs} inputs");
    assert!(runs > 1000);
}
