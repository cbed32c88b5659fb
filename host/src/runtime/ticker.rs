//! The epoch ticker: a thread that advances the engine's epoch, which is how a running guest
//! yields to the async runtime, so deadlines and cancellations interrupt it.

use crate::engine::EPOCH_TICK;
use std::sync::Arc;
use wasmtime::Engine;

/// Advances the engine's epoch every [`EPOCH_TICK`] on its own thread; stops when the engine
/// is dropped or the ticker is.
pub(crate) struct EpochTicker {
    stop: Arc<std::sync::atomic::AtomicBool>,
}

impl EpochTicker {
    /// Starts the ticker thread for `engine`.
    pub(crate) fn start(engine: &Engine) -> std::io::Result<Self> {
        let weak = engine.weak();
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = stop.clone();
        std::thread::Builder::new()
            .name("wasm-epoch".into())
            .spawn(move || {
                while !flag.load(std::sync::atomic::Ordering::Relaxed) {
                    std::thread::sleep(EPOCH_TICK);
                    match weak.upgrade() {
                        Some(engine) => engine.increment_epoch(),
                        None => return,
                    }
                }
            })?;
        Ok(EpochTicker { stop })
    }
}

impl Drop for EpochTicker {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}
