//! The `wasm-worker` program, built inside the test package so the integration tests can run
//! the real entry point as a process (`CARGO_BIN_EXE_wasm-worker-under-test`).

fn main() -> std::process::ExitCode {
    wasm_worker::entry::main()
}
