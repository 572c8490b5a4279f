//! Timestamps bound on SQLite's hot statements without chrono's format machinery.
//!
//! diesel stores a SQLite `Timestamp` as the text of `format("%F %T%.f")`: chrono parses that
//! format string and formats through `fmt` for every value, about 2 % of the server's CPU in
//! the end-to-end profile (nine timestamps per message). [`SqliteTimestamp`] is the same
//! column type written by hand, byte for byte the same text, so rows written either way
//! compare, sort and read back alike. Only the multi-row statements of the delivery path
//! bind it (`sqlite_multi_row`); everything else goes through diesel as before.

use chrono::{Datelike, NaiveDateTime, Timelike};
use diesel::serialize::{IsNull, Output, ToSql};
use diesel::sqlite::Sqlite;

/// A SQLite timestamp column (TEXT), bound from a `NaiveDateTime` as diesel would.
#[derive(Debug, Clone, Copy, Default, diesel::sql_types::SqlType)]
#[diesel(sqlite_type(name = "Text"))]
pub struct SqliteTimestamp;

impl ToSql<SqliteTimestamp, Sqlite> for NaiveDateTime {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Sqlite>) -> diesel::serialize::Result {
        out.set_value(text(self));
        Ok(IsNull::No)
    }
}

/// `t` as diesel writes it: `YYYY-MM-DD HH:MM:SS`, then the fraction of the second, if any,
/// in 3, 6 or 9 digits (chrono's `%.f`). Years outside 0-9999 and leap seconds, which the
/// server never makes, go through chrono.
fn text(t: &NaiveDateTime) -> String {
    let nanos = t.nanosecond();
    let year = t.year();
    if !(0..=9999).contains(&year) || nanos >= 1_000_000_000 {
        return t.format("%F %T%.f").to_string();
    }
    let mut out = String::with_capacity(29);
    push_digits(&mut out, year.unsigned_abs(), 4);
    for (separator, value) in [('-', t.month()), ('-', t.day()), (' ', t.hour()), (':', t.minute()), (':', t.second())]
    {
        out.push(separator);
        push_digits(&mut out, value, 2);
    }
    let (fraction, width) = match nanos {
        0 => return out,
        n if n % 1_000_000 == 0 => (n / 1_000_000, 3),
        n if n % 1_000 == 0 => (n / 1_000, 6),
        n => (n, 9),
    };
    out.push('.');
    push_digits(&mut out, fraction, width);
    out
}

/// The last `width` decimal digits of `value`, zero-padded.
fn push_digits(out: &mut String, value: u32, width: u32) {
    for place in (0..width).rev() {
        let digit = value / 10u32.pow(place) % 10;
        out.push(char::from_digit(digit, 10).unwrap_or('0'));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{NaiveDate, NaiveTime};
    use rand::Rng;

    fn diesel_text(t: &NaiveDateTime) -> String {
        t.format("%F %T%.f").to_string()
    }

    #[test]
    fn the_text_is_what_diesel_writes() {
        let mut rng = rand::thread_rng();
        for _ in 0..20_000 {
            let date = NaiveDate::from_num_days_from_ce_opt(rng.gen_range(1..=3_652_059)).unwrap();
            let nanos = match rng.gen_range(0..4) {
                0 => 0,
                1 => rng.gen_range(0..1_000) * 1_000_000,
                2 => rng.gen_range(0..1_000_000) * 1_000,
                _ => rng.gen_range(0..1_000_000_000),
            };
            let time = NaiveTime::from_num_seconds_from_midnight_opt(rng.gen_range(0..86_400), nanos).unwrap();
            let t = NaiveDateTime::new(date, time);
            assert_eq!(text(&t), diesel_text(&t), "{t:?}");
        }
        for t in [crate::db::now(), NaiveDateTime::MIN, NaiveDateTime::MAX, NaiveDateTime::default()] {
            assert_eq!(text(&t), diesel_text(&t), "{t:?}");
        }
        let leap = NaiveDate::from_ymd_opt(2016, 12, 31).unwrap().and_hms_nano_opt(23, 59, 59, 1_500_000_000).unwrap();
        assert_eq!(text(&leap), diesel_text(&leap));
    }
}
