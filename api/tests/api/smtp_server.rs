//! The real SMTP test server (aiosmtpd), shared with the black-box tests.

pub use postamt_e2e::SmtpServer;
