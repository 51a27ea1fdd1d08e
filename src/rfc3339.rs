//! Reading an instant written by an operator: Unix seconds, or an RFC 3339
//! date-time (`2026-11-30T08:00:00Z`, `2026-11-30T09:00:00+01:00`, optional
//! fraction, which is dropped). No time-zone database and no dependency.

/// Unix seconds of `text`, or `None` when it is neither form (or before 1970).
pub(crate) fn parse_instant(text: &str) -> Option<u64> {
    let text = text.trim();
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        return text.parse().ok();
    }
    parse_rfc3339(text)
}

fn parse_rfc3339(text: &str) -> Option<u64> {
    let b = text.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    if b[13] != b':' || b[16] != b':' {
        return None;
    }
    let num = |range: std::ops::Range<usize>| text.get(range).and_then(num_of);
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    let mut rest = &text[19..];
    if let Some(fraction) = rest.strip_prefix('.') {
        let digits = fraction.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        rest = &fraction[digits..];
    }
    let offset = match rest {
        "Z" | "z" => 0,
        _ => {
            let r = rest.as_bytes();
            if r.len() != 6 || !matches!(r[0], b'+' | b'-') || r[3] != b':' {
                return None;
            }
            let (h, m) = (num_of(&rest[1..3])?, num_of(&rest[4..6])?);
            if h > 23 || m > 59 {
                return None;
            }
            let sign = if r[0] == b'+' { 1 } else { -1 };
            sign * (h * 3600 + m * 60)
        }
    };
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    let days_in_month = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    };
    if day == 0 || day > days_in_month || hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let seconds =
        days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second - offset;
    u64::try_from(seconds).ok()
}

/// A field of ASCII digits only (`str::parse` alone would accept a sign).
fn num_of(part: &str) -> Option<i64> {
    if part.bytes().all(|c| c.is_ascii_digit()) {
        part.parse().ok()
    } else {
        None
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_from_march = (month + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepted_forms() {
        let rows = [
            ("unix seconds", "1764489600", 1_764_489_600),
            ("epoch", "1970-01-01T00:00:00Z", 0),
            ("UTC", "2025-11-30T08:00:00Z", 1_764_489_600),
            ("lower-case t and z", "2025-11-30t08:00:00z", 1_764_489_600),
            (
                "fraction dropped",
                "2025-11-30T08:00:00.999Z",
                1_764_489_600,
            ),
            (
                "positive offset",
                "2025-11-30T09:30:00+01:30",
                1_764_489_600,
            ),
            (
                "negative offset",
                "2025-11-30T03:00:00-05:00",
                1_764_489_600,
            ),
            ("space separator", "2025-11-30 08:00:00Z", 1_764_489_600),
            ("leap day", "2024-02-29T00:00:00Z", 1_709_164_800),
            ("year 2000 leap day", "2000-02-29T00:00:00Z", 951_782_400),
            ("surrounding spaces", " 1764489600 ", 1_764_489_600),
            ("leap second", "2016-12-31T23:59:60Z", 1_483_228_800),
            (
                "last day of a 31-day month",
                "2025-12-31T00:00:00Z",
                1_767_139_200,
            ),
            (
                "last day of a 30-day month",
                "2025-11-30T00:00:00Z",
                1_764_460_800,
            ),
            (
                "28 February, common year",
                "2025-02-28T00:00:00Z",
                1_740_700_800,
            ),
            ("offset 23:59", "2025-11-30T08:00:00+23:59", 1_764_403_260),
            (
                "before the epoch by offset only",
                "1970-01-01T01:00:00+01:00",
                0,
            ),
            ("year 2400 is leap", "2400-02-29T00:00:00Z", 13_574_563_200),
        ];
        for (name, text, expect) in rows {
            assert_eq!(parse_instant(text), Some(expect), "{name}");
        }
    }

    #[test]
    fn refused_forms() {
        for (name, text) in [
            ("empty", ""),
            ("no zone", "2025-11-30T08:00:00"),
            ("date only", "2025-11-30"),
            ("bad month", "2025-13-01T00:00:00Z"),
            ("bad day", "2025-02-29T00:00:00Z"),
            ("2100 is not leap", "2100-02-29T00:00:00Z"),
            ("bad hour", "2025-11-30T24:00:00Z"),
            ("bad offset", "2025-11-30T08:00:00+1:00"),
            ("offset hour", "2025-11-30T08:00:00+24:00"),
            ("empty fraction", "2025-11-30T08:00:00.Z"),
            ("before 1970", "1969-12-31T23:59:59Z"),
            ("negative number", "-5"),
            ("words", "yesterday"),
            ("sign in a field", "2025-+1-30T08:00:00Z"),
            ("too big", "99999999999999999999999"),
            ("slash date separators", "2025/11/30T08:00:00Z"),
            ("first date separator", "2025x11-30T08:00:00Z"),
            ("second date separator", "2025-11x30T08:00:00Z"),
            ("no T", "2025-11-30x08:00:00Z"),
            ("dash time separators", "2025-11-30T08-00-00Z"),
            ("first time separator", "2025-11-30T08x00:00Z"),
            ("second time separator", "2025-11-30T08:00x00Z"),
            ("no seconds", "2025-11-30T08:00Z"),
            ("one digit short", "2025-11-30T08:00:0Z"),
            ("offset without colon", "2025-11-30T08:00:00+0100"),
            ("offset bad sign", "2025-11-30T08:00:00*01:00"),
            ("offset minutes", "2025-11-30T08:00:00+01:60"),
            ("minute 60", "2025-11-30T08:60:00Z"),
            ("second 61", "2025-11-30T08:00:61Z"),
            ("day 0", "2025-11-00T08:00:00Z"),
            ("day 31 of a 30-day month", "2025-11-31T08:00:00Z"),
            ("month 0", "2025-00-10T08:00:00Z"),
            ("letters in the year", "20a5-11-30T08:00:00Z"),
            ("letters in the offset", "2025-11-30T08:00:00+0a:00"),
        ] {
            assert_eq!(parse_instant(text), None, "{name}");
        }
    }
}
