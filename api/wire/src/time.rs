//! Timestamps on the wire: RFC 3339 in UTC.
//!
//! With the feature `chrono` (the server, its tests, the SMTP client) they are chrono's
//! `DateTime<Utc>`. The settings page builds without it: it only hands timestamps to the
//! browser's `Date` to show them, so there a `DateTime<Utc>` is the text as received, and
//! the page's wasm carries no date parser (chrono's was about 5 % of the module, against a
//! size budget). Both have the same names, so the wire types are written once and the
//! OpenAPI derive sees `DateTime<Utc>` (a `date-time` string) either way.

#[cfg(feature = "chrono")]
pub use chrono::{DateTime, Utc};

#[cfg(not(feature = "chrono"))]
pub use text::{DateTime, Utc};

#[cfg(not(feature = "chrono"))]
mod text {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};
    use std::marker::PhantomData;

    /// The time zone marker: always UTC on the wire.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
    pub struct Utc;

    /// A timestamp as the RFC 3339 text the server sent.
    #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
    pub struct DateTime<Tz>(String, PhantomData<Tz>);

    impl<Tz> DateTime<Tz> {
        /// Takes RFC 3339 text as it is (the server is the one that checks it).
        pub fn from_rfc3339_text(text: impl Into<String>) -> Self {
            DateTime(text.into(), PhantomData)
        }

        /// The text as received: what chrono's `to_rfc3339` gives on the server.
        pub fn to_rfc3339(&self) -> String {
            self.0.clone()
        }
    }

    impl<Tz> Serialize for DateTime<Tz> {
        fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            serializer.serialize_str(&self.0)
        }
    }

    impl<'de, Tz> Deserialize<'de> for DateTime<Tz> {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            String::deserialize(deserializer).map(DateTime::from_rfc3339_text)
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn a_timestamp_round_trips_as_its_text() {
            let t: DateTime<Utc> = serde_json::from_str("\"2026-12-05T14:03:00Z\"").unwrap();
            assert_eq!(t.to_rfc3339(), "2026-12-05T14:03:00Z");
            assert_eq!(serde_json::to_string(&t).unwrap(), "\"2026-12-05T14:03:00Z\"");
        }
    }
}
