//! Times as the engine and the registry write them: RFC 3339 instants (`2001-09-09T01:46:40Z`,
//! with nanoseconds and offsets) and Go durations (`168h`, `302.8ms`). Kept to what brrt reads,
//! so no date crate is needed.

/// Nanoseconds since the Unix epoch of an RFC 3339 time (`2001-09-09T01:46:40Z`,
/// `2001-09-09T03:46:40.123456789+02:00`).
pub fn unix_nanos(text: &str) -> Option<i128> {
    let (date, time) = text.trim().split_once(['T', ' '])?;
    let mut ymd = date.splitn(3, '-').map(|n| n.parse::<i64>());
    let (y, m, d) = (ymd.next()?.ok()?, ymd.next()?.ok()?, ymd.next()?.ok()?);
    let clock = time.get(..8)?;
    let mut hms = clock.splitn(3, ':').map(|n| n.parse::<i64>());
    let (hh, mm, ss) = (hms.next()?.ok()?, hms.next()?.ok()?, hms.next()?.ok()?);
    let rest = &time[8..];
    let (fraction, zone) = match rest.strip_prefix('.') {
        Some(r) => {
            let digits = r.find(|c: char| !c.is_ascii_digit()).unwrap_or(r.len());
            (&r[..digits], &r[digits..])
        }
        None => ("", rest),
    };
    let nanos: i128 = if fraction.is_empty() {
        0
    } else {
        let padded: String = fraction
            .chars()
            .chain(std::iter::repeat('0'))
            .take(9)
            .collect();
        padded.parse().ok()?
    };
    let offset = match zone {
        "Z" | "z" | "" => 0,
        z => {
            let sign = if z.starts_with('-') { -1 } else { 1 };
            let (oh, om) = z.get(1..)?.split_once(':')?;
            sign * (oh.parse::<i64>().ok()? * 3600 + om.parse::<i64>().ok()? * 60)
        }
    };
    // Days from the civil date (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let seconds = days * 86_400 + hh * 3600 + mm * 60 + ss - offset;
    Some(i128::from(seconds) * 1_000_000_000 + nanos)
}

/// Whole seconds since the Unix epoch of an RFC 3339 time.
pub fn unix_seconds(text: &str) -> Option<i64> {
    i64::try_from(unix_nanos(text)?.div_euclid(1_000_000_000)).ok()
}

/// `2026-11-29 19:45:53 UTC`: an instant as brrt shows it to people.
pub fn show_utc(nanos: i128) -> String {
    let secs = i64::try_from(nanos.div_euclid(1_000_000_000)).unwrap_or(0);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // The civil date of a day count (Howard Hinnant's algorithm, inverted).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Nanoseconds now, by the system clock.
pub fn now_nanos() -> i128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i128::try_from(d.as_nanos()).unwrap_or(i128::MAX))
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
