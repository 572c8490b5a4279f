//! Calendar dates of `<input type="date">` ("YYYY-MM-DD", in the browser's time zone) and the
//! UTC times the API wants for them.

/// A calendar date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Ymd {
    pub year: u32,
    pub month: u32,
    pub day: u32,
}

impl Ymd {
    /// Parses what a date input holds; `None` for anything else (including an empty input).
    pub fn parse(s: &str) -> Option<Ymd> {
        let mut parts = s.trim().splitn(3, '-');
        let (y, m, d) = (parts.next()?, parts.next()?, parts.next()?);
        if y.len() != 4 || m.len() != 2 || d.len() != 2 {
            return None;
        }
        let ymd = Ymd { year: y.parse().ok()?, month: m.parse().ok()?, day: d.parse().ok()? };
        ((1..=12).contains(&ymd.month) && (1..=31).contains(&ymd.day)).then_some(ymd)
    }

    pub fn to_input(self) -> String {
        format!("{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }

    /// The start of this day plus `days` in the browser's time zone, as RFC 3339 in UTC.
    fn start_utc(self, days: i32) -> String {
        let month = i32::try_from(self.month).unwrap_or(1) - 1;
        let day = i32::try_from(self.day).unwrap_or(1) + days;
        js_sys::Date::new_with_year_month_day(self.year, month, day).to_iso_string().into()
    }

    /// Today minus `days` in the browser's time zone.
    pub fn today_minus(days: i32) -> Ymd {
        let now = js_sys::Date::new_0();
        let month = i32::try_from(now.get_month()).unwrap_or(0);
        let day = i32::try_from(now.get_date()).unwrap_or(1) - days;
        let d = js_sys::Date::new_with_year_month_day(now.get_full_year(), month, day);
        Ymd { year: d.get_full_year(), month: d.get_month() + 1, day: d.get_date() }
    }
}

/// A date range as typed: either end may be empty (open).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Range {
    pub from: Option<Ymd>,
    pub to: Option<Ymd>,
}

impl Range {
    /// `None` when "from" comes after "to".
    pub fn parse(from: &str, to: &str) -> Option<Range> {
        let range = Range { from: Ymd::parse(from), to: Ymd::parse(to) };
        match (range.from, range.to) {
            (Some(f), Some(t)) if f > t => None,
            _ => Some(range),
        }
    }

    /// The API's `from` (start of the first day) and `to` (start of the day after the last, as
    /// the API's `to` is exclusive).
    pub fn to_utc(self) -> (Option<String>, Option<String>) {
        (self.from.map(|f| f.start_utc(0)), self.to.map(|t| t.start_utc(1)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_date_inputs() {
        assert_eq!(Ymd::parse("2026-11-27"), Some(Ymd { year: 2026, month: 11, day: 27 }));
        assert_eq!(Ymd::parse(""), None);
        assert_eq!(Ymd::parse("2026-13-01"), None);
        assert_eq!(Ymd::parse("26-11-27"), None);
        assert_eq!(Ymd { year: 2026, month: 1, day: 5 }.to_input(), "2026-01-05");
    }

    #[test]
    fn ranges() {
        assert!(Range::parse("2026-11-28", "2026-11-27").is_none());
        let r = Range::parse("2026-11-27", "2026-11-27").unwrap();
        assert_eq!(r.from, r.to);
        let open = Range::parse("", "2026-11-27").unwrap();
        assert_eq!(open.from, None);
    }
}
