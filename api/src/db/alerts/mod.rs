//! Alert storage (see `crate::alerts`): the settings row, incidents, notifications, and the
//! reads the conditions make.

pub mod incidents;
pub mod notifications;
pub mod observe;
pub mod settings;

#[cfg(test)]
mod tests;
