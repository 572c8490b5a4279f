//! Pieces the views are built from.

pub mod fields;
pub mod header;
pub mod history;
pub mod status;
