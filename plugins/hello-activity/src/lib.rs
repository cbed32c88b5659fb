//! wasm-worker's hello-world activity plugin, in Rust.
//!
//! Build: `cargo build --release --target wasm32-wasip2` (or `make plugins` at the top level),
//! then copy `target/wasm32-wasip2/release/hello_activity.wasm` into the plugins folder.

wit_bindgen::generate!({
    world: "hello-activity",
    path: "wit",
    generate_all,
});

use exports::example::hello_activity::greetings::Guest as Greetings;
use exports::example::hello_activity::orders::{Extras, Guest as Orders, Order, Shipping, Summary};
use wasm_worker::plugin::log::{Level, log};

struct Plugin;

impl Greetings for Plugin {
    fn greet_activity(name: String) -> String {
        log(Level::Info, &format!("greeting {name}"));
        format!("Hello, {name}!")
    }
}

impl Orders for Plugin {
    fn summarize_order(order: Order) -> Result<Summary, String> {
        if order.lines.is_empty() {
            return Err(format!("order {} has no lines", order.id));
        }
        if let Some(line) = order.lines.iter().find(|l| l.quantity == 0) {
            return Err(format!(
                "order {}: line {} has quantity 0",
                order.id, line.sku
            ));
        }
        let items = order.lines.iter().map(|l| l.quantity).sum();
        let mut total: f64 = order
            .lines
            .iter()
            .map(|l| f64::from(l.quantity) * l.unit_price)
            .sum();
        if order.coupon.as_deref() == Some("HALF") {
            total /= 2.0;
        }
        let label = match order.shipping {
            Shipping::Pickup => None,
            Shipping::Courier(company) => Some(format!("courier: {company}")),
            Shipping::Locker(n) => Some(format!("locker #{n}")),
        };
        Ok(Summary {
            id: order.id,
            items,
            total,
            skus: order.lines.into_iter().map(|l| l.sku).collect(),
            express: order.extras.contains(Extras::EXPRESS),
            label,
        })
    }
}

export!(Plugin);
