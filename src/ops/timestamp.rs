//! Times as the engine and the registry write them: RFC 3339 instants (`2001-09-09T01:46:40Z`,
//! with nanoseconds and offsets), read and shown with jiff, and Go durations (`168h`,
//! `302.8ms`), which distribution writes in Go's own format.

/// Nanoseconds since the Unix epoch of an RFC 3339 time (`2001-09-09T01:46:40Z`,
/// `2001-09-09T03:46:40.123456789+02:00`).
pub fn unix_nanos(text: &str) -> Option<i128> {
    let t: jiff::Timestamp = text.trim().parse().ok()?;
    Some(t.as_nanosecond())
}

/// Whole seconds since the Unix epoch of an RFC 3339 time.
pub fn unix_seconds(text: &str) -> Option<i64> {
    i64::try_from(unix_nanos(text)?.div_euclid(1_000_000_000)).ok()
}

/// `2026-11-29 19:45:53 UTC`: an instant as brrt shows it to people.
pub fn show_utc(nanos: i128) -> String {
    jiff::Timestamp::from_nanosecond(nanos)
        .unwrap_or(jiff::Timestamp::UNIX_EPOCH)
        .strftime("%Y-%m-%d %H:%M:%S UTC")
        .to_string()
}

/// Nanoseconds now, by the system clock.
pub fn now_nanos() -> i128 {
    jiff::Timestamp::now().as_nanosecond()
}

/// A Go duration as distribution writes and reads it (`168h`, `1h30m`, `302.843742ms`, `850µs`),
/// in nanoseconds.
pub fn go_duration_nanos(text: &str) -> Option<f64> {
    let mut rest = text.trim();
    if rest.is_empty() {
        return None;
    }
    let mut total = 0.0;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let number: f64 = rest[..digits].parse().ok()?;
        let unit_len = rest[digits..]
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len() - digits);
        let scale = match &rest[digits..digits + unit_len] {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return None,
        };
        total += number * scale;
        rest = &rest[digits + unit_len..];
    }
    Some(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engine_times_read_as_unix_time() {
        assert_eq!(unix_seconds("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(unix_seconds("2001-09-09T01:46:40Z"), Some(1_000_000_000));
        assert_eq!(
            unix_seconds("2001-09-09T03:46:40.123456789+02:00"),
            Some(1_000_000_000)
        );
        assert_eq!(
            unix_seconds("2001-09-08T20:46:40-05:00"),
            Some(1_000_000_000)
        );
        assert_eq!(
            unix_nanos("2001-09-09T01:46:40.5Z"),
            Some(1_000_000_000_500_000_000)
        );
        assert_eq!(unix_seconds("yesterday"), None);
    }

    #[test]
    fn instants_show_as_utc() {
        assert_eq!(
            show_utc(1_000_000_000_000_000_000),
            "2001-09-09 01:46:40 UTC"
        );
        assert_eq!(show_utc(0), "1970-01-01 00:00:00 UTC");
        let t = unix_nanos("2026-02-28T23:59:59Z").unwrap();
        assert_eq!(show_utc(t), "2026-02-28 23:59:59 UTC");
    }

    #[test]
    fn go_durations() {
        assert_eq!(go_duration_nanos("168h"), Some(168.0 * 3600e9));
        assert_eq!(go_duration_nanos("1h30m"), Some(5400e9));
        assert_eq!(go_duration_nanos("302.5ms"), Some(302.5e6));
        assert_eq!(go_duration_nanos("850µs"), Some(850e3));
        assert_eq!(go_duration_nanos("ten"), None);
        assert_eq!(go_duration_nanos(""), None);
    }
}
