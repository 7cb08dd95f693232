//! The server's clock, from its HTTP `Date` header (RFC 9110 IMF-fixdate,
//! `Fri, 27 Nov 2026 09:56:11 GMT`): the one "now" that can be set against
//! the server's own job timestamps without mixing two clocks.

/// Epoch ms of an IMF-fixdate; `None` for anything else (the obsolete
/// formats are not sent by aiohttp, hyper or nginx).
pub fn parse_http_date(value: &str) -> Option<u64> {
    let rest = value.trim().split_once(", ")?.1;
    let mut parts = rest.split(' ');
    let day: u64 = parts.next()?.parse().ok()?;
    let month = parts.next()?;
    let year: i64 = parts.next()?.parse().ok()?;
    let time = parts.next()?;
    if parts.next()? != "GMT" || parts.next().is_some() {
        return None;
    }
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let month = MONTHS.iter().position(|m| *m == month)? as i64 + 1;
    let mut hms = time.split(':').map(|p| p.parse::<u64>().ok());
    let (h, m, s) = (hms.next()??, hms.next()??, hms.next()??);
    if hms.next().is_some() || !(1..=31).contains(&day) || h > 23 || m > 59 || s > 60 {
        return None;
    }
    let days = u64::try_from(days_from_civil(year, month, day as i64)).ok()?;
    Some((days * 86_400 + h * 3600 + m * 60 + s) * 1000)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
/// `days_from_civil`).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_imf_fixdate_is_read_as_epoch_ms() {
        // The Date of the 0.33.0 capture, against humantime's own reading.
        let want = humantime::parse_rfc3339("2026-11-27T09:56:11Z").unwrap();
        let want = want.duration_since(std::time::UNIX_EPOCH).unwrap();
        assert_eq!(
            parse_http_date("Fri, 27 Nov 2026 09:56:11 GMT"),
            Some(want.as_millis() as u64)
        );
        assert_eq!(parse_http_date("Thu, 01 Jan 1970 00:00:00 GMT"), Some(0));
        assert_eq!(
            parse_http_date("Tue, 29 Feb 2028 23:59:59 GMT"),
            Some(1_835_481_599_000)
        );
        for bad in [
            "",
            "yesterday",
            "Fri, 27 Nov 2026 09:56:11 CET",
            "Fri, 32 Nov 2026 09:56:11 GMT",
            "Fri, 27 Foo 2026 09:56:11 GMT",
            "Friday, 27-Nov-26 09:56:11 GMT",
            "Fri, 27 Nov 2026 25:00:00 GMT",
        ] {
            assert_eq!(parse_http_date(bad), None, "{bad}");
        }
    }
}
