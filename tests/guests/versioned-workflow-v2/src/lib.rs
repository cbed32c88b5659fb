//! Build 2 of the versioned test workflow (`../versioned-workflow/body.rs`).

const VERSION: u32 = 2;

include!("../../versioned-workflow/body.rs");
