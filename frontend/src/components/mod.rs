//! Pieces the views are built from.

pub mod fallback;
pub mod fields;
pub mod header;
pub mod history;
pub mod limits;
pub mod log_export;
pub mod oauth;
pub mod sender_preview;
pub mod status;
pub mod test_panel;
pub mod test_result;
