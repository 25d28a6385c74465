//! [`Timestamp`]: an instant with nanoseconds, read from and written as RFC 3339 text, the form of
//! a record's `Validity`.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use super::IpnsError;

/// An instant in UTC with nanosecond precision, between `0000-01-01T00:00:00Z` and
/// `9999-12-31T23:59:59.999999999Z` (the years RFC 3339 can write; constructors clamp into this
/// range). Adapters make one from their clock: `Timestamp::from_unix_millis(Date.now())` in JS,
/// `SystemTime::now().duration_since(UNIX_EPOCH)` natively. Ordered by time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp {
    secs: i64,
    nanos: u32,
}

/// Seconds from the Unix epoch to 0000-01-01T00:00:00Z and to the first second after 9999.
const MIN_SECS: i64 = -62_167_219_200;
const MAX_SECS: i64 = 253_402_300_800;

impl Timestamp {
    /// 1970-01-01T00:00:00Z.
    pub const UNIX_EPOCH: Timestamp = Timestamp { secs: 0, nanos: 0 };

    /// `secs` seconds and `nanos` nanoseconds after the Unix epoch (`secs` may be negative; extra
    /// nanoseconds carry into the seconds), clamped to years 0000–9999.
    pub fn from_unix(secs: i64, nanos: u32) -> Self {
        let secs = secs.saturating_add(i64::from(nanos / 1_000_000_000));
        let nanos = nanos % 1_000_000_000;
        if secs < MIN_SECS {
            Timestamp { secs: MIN_SECS, nanos: 0 }
        } else if secs >= MAX_SECS {
            Timestamp { secs: MAX_SECS - 1, nanos: 999_999_999 }
        } else {
            Timestamp { secs, nanos }
        }
    }

    /// Whole seconds after the Unix epoch.
    pub fn from_unix_secs(secs: i64) -> Self {
        Self::from_unix(secs, 0)
    }

    /// Milliseconds after the Unix epoch, as JavaScript's `Date.now()` gives them.
    pub fn from_unix_millis(millis: i64) -> Self {
        Self::from_unix(millis.div_euclid(1000), (millis.rem_euclid(1000) * 1_000_000) as u32)
    }

    /// Seconds after the Unix epoch (rounded down).
    pub fn unix_secs(&self) -> i64 {
        self.secs
    }

    /// The nanoseconds past [`unix_secs`](Self::unix_secs), below one second.
    pub fn subsec_nanos(&self) -> u32 {
        self.nanos
    }

    /// Milliseconds after the Unix epoch (rounded down), for `new Date(ms)`.
    pub fn unix_millis(&self) -> i64 {
        self.secs * 1000 + i64::from(self.nanos / 1_000_000)
    }

    /// `self + d`, clamped to the end of year 9999.
    pub fn saturating_add(self, d: Duration) -> Self {
        let secs = i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
        Self::from_unix(self.secs.saturating_add(secs), self.nanos + d.subsec_nanos())
    }

    /// How long after `earlier` this is; zero if it is not after it.
    pub fn saturating_duration_since(self, earlier: Timestamp) -> Duration {
        if self <= earlier {
            return Duration::ZERO;
        }
        let (mut secs, mut nanos) =
            (self.secs - earlier.secs, self.nanos as i64 - earlier.nanos as i64);
        if nanos < 0 {
            secs -= 1;
            nanos += 1_000_000_000;
        }
        Duration::new(secs as u64, nanos as u32)
    }

    /// Reads RFC 3339 text: `YYYY-MM-DDTHH:MM:SS`, an optional fraction of any length (digits past
    /// the ninth are dropped), then `Z` or `±HH:MM` (`T` and `Z` in either case), as kubo's
    /// `time.RFC3339Nano` and the `ipns` package write it. Leap seconds (`:60`) are refused, as Go
    /// refuses them.
    pub fn parse_rfc3339(text: &str) -> Result<Self, IpnsError> {
        parse(text.as_bytes()).ok_or_else(|| {
            IpnsError::malformed(format!(
                "validity {:?} is not an RFC 3339 time",
                text.chars().take(64).collect::<String>()
            ))
        })
    }

    /// The time as RFC 3339 in UTC with all nine digits of nanoseconds, as the `ipns` package
    /// writes `Validity`: `2100-01-01T00:00:00.000000000Z`. The same as `to_string()`.
    pub fn to_rfc3339(&self) -> String {
        let days = self.secs.div_euclid(86_400);
        let rem = self.secs.rem_euclid(86_400);
        let (y, m, d) = civil_from_days(days);
        format!(
            "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:09}Z",
            rem / 3600,
            rem / 60 % 60,
            rem % 60,
            self.nanos
        )
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

impl FromStr for Timestamp {
    type Err = IpnsError;

    fn from_str(s: &str) -> Result<Self, IpnsError> {
        Self::parse_rfc3339(s)
    }
}

fn parse(s: &[u8]) -> Option<Timestamp> {
    let num = |range: std::ops::Range<usize>| -> Option<i64> {
        let part = s.get(range)?;
        part.iter()
            .all(u8::is_ascii_digit)
            .then(|| part.iter().fold(0i64, |n, &c| n * 10 + i64::from(c - b'0')))
    };
    if s.len() < 20
        || s[4] != b'-'
        || s[7] != b'-'
        || !matches!(s[10], b'T' | b't')
        || s[13] != b':'
        || s[16] != b':'
    {
        return None;
    }
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, min, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&month)
        || day < 1
        || day > days_in_month(year, month)
        || hour > 23
        || min > 59
        || sec > 59
    {
        return None;
    }
    let mut at = 19;
    let mut nanos = 0u32;
    if s[at] == b'.' {
        let digits = s[at + 1..].iter().take_while(|c| c.is_ascii_digit()).count();
        if digits == 0 {
            return None;
        }
        for i in 0..9 {
            let d = if i < digits { u32::from(s[at + 1 + i] - b'0') } else { 0 };
            nanos = nanos * 10 + d;
        }
        at += 1 + digits;
    }
    let offset = match s.get(at..)? {
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), _, _, b':', _, _] => {
            let h = num(at + 1..at + 3)?;
            let m = num(at + 4..at + 6)?;
            if h > 23 || m > 59 {
                return None;
            }
            let off = h * 3600 + m * 60;
            if *sign == b'+' {
                off
            } else {
                -off
            }
        }
        _ => return None,
    };
    let secs = days_from_civil(year, month, day) * 86_400 + hour * 3600 + min * 60 + sec - offset;
    Some(Timestamp::from_unix(secs, nanos))
}

fn is_leap(y: i64) -> bool {
    y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days from 1970-01-01 to the date (proleptic Gregorian; Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date `days` after 1970-01-01.
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_and_writes_rfc3339_with_nanoseconds() {
        let t = Timestamp::parse_rfc3339("1970-01-01T00:00:00.000000001Z").unwrap();
        assert_eq!((t.unix_secs(), t.subsec_nanos()), (0, 1));
        assert_eq!(t.to_string(), "1970-01-01T00:00:00.000000001Z");
        let t: Timestamp = "2100-01-01T00:00:00.000000000Z".parse().unwrap();
        assert_eq!(t.unix_secs(), 4_102_444_800);
        assert_eq!(t.to_rfc3339(), "2100-01-01T00:00:00.000000000Z");
        // Go's RFC3339Nano drops trailing zeros and the fraction; offsets; lowercase; long fractions.
        let kubo: Timestamp = "2024-02-29T23:59:59.5Z".parse().unwrap();
        assert_eq!(kubo.to_string(), "2024-02-29T23:59:59.500000000Z");
        assert_eq!("2024-03-01T01:59:59.5+02:00".parse::<Timestamp>().unwrap(), kubo);
        assert_eq!("2024-02-29t23:59:59.5000000009z".parse::<Timestamp>().unwrap(), kubo);
        let whole: Timestamp = "2024-02-29T18:29:59-05:30".parse().unwrap();
        assert_eq!(whole.saturating_add(Duration::from_millis(500)), kubo);
        assert_eq!(Timestamp::from_unix_millis(kubo.unix_millis()), kubo);
        assert_eq!(Timestamp::from_unix_millis(-1).to_string(), "1969-12-31T23:59:59.999000000Z");
        let old: Timestamp = "0001-01-01T00:00:00Z".parse().unwrap();
        assert_eq!(old.to_string(), "0001-01-01T00:00:00.000000000Z");
    }

    #[test]
    fn refuses_what_is_not_rfc3339() {
        for bad in [
            "",
            "2024-02-30T00:00:00Z",
            "2023-02-29T00:00:00Z",
            "2024-01-01T24:00:00Z",
            "2024-01-01T23:59:60Z",
            "2024-01-01 00:00:00Z",
            "2024-01-01T00:00:00",
            "2024-01-01T00:00:00.Z",
            "2024-01-01T00:00:00+0100",
            "2024-01-01T00:00:00Z ",
            "+024-01-01T00:00:00Z",
            "2024-1-01T00:00:00Z",
        ] {
            assert!(Timestamp::parse_rfc3339(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn clamps_and_measures() {
        let end = Timestamp::from_unix_secs(i64::MAX);
        assert_eq!(end.to_string(), "9999-12-31T23:59:59.999999999Z");
        assert_eq!(end.saturating_add(Duration::MAX), end);
        assert_eq!(
            Timestamp::from_unix_secs(i64::MIN).to_string(),
            "0000-01-01T00:00:00.000000000Z"
        );
        let a = Timestamp::from_unix(10, 900_000_000);
        let b = Timestamp::from_unix(12, 100_000_000);
        assert_eq!(b.saturating_duration_since(a), Duration::from_millis(1200));
        assert_eq!(a.saturating_duration_since(b), Duration::ZERO);
        assert_eq!(Timestamp::from_unix(1, 2_500_000_000), Timestamp::from_unix(3, 500_000_000));
    }
}
