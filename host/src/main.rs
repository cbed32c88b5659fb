//! The `wasm-worker` binary; the program itself is [`wasm_worker::entry::main`].

fn main() -> std::process::ExitCode {
    wasm_worker::entry::main()
}
