//! Build 1 of the versioned test workflow (`../versioned-workflow/body.rs`).

const VERSION: u32 = 1;

include!("../../versioned-workflow/body.rs");
