//! Byte sizes and rates as network engineers write them.
//!
//! Sizes accept binary units (`KiB`, `MiB`, `GiB`, `TiB`), decimal units (`KB`, `MB`, `GB`, `TB`),
//! `B`, and plain byte counts; a fraction is allowed (`1.5GiB`). Case of the unit does not matter
//! except that `b` alone means bytes (there is no bit size).

use std::fmt;
use std::str::FromStr;

/// A number of bytes, parsed from `1GiB`, `64 KiB`, `100MB` or `4096`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct ByteSize(pub u64);

/// Why a size did not parse.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum ByteSizeError {
    /// Nothing to parse.
    #[error("empty size")]
    Empty,
    /// The number part is not a number.
    #[error("invalid number in size {0:?}")]
    Number(String),
    /// The unit is not one of B, KB, MB, GB, TB, KiB, MiB, GiB, TiB.
    #[error("unknown unit {0:?} (use B, KiB, MiB, GiB, TiB, KB, MB, GB or TB)")]
    Unit(String),
    /// The value does not fit in 64 bits or is negative.
    #[error("size {0:?} is out of range")]
    Range(String),
}

impl ByteSize {
    /// The size in bytes.
    pub const fn bytes(self) -> u64 {
        self.0
    }
}

impl FromStr for ByteSize {
    type Err = ByteSizeError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if s.is_empty() {
            return Err(ByteSizeError::Empty);
        }
        let split = s
            .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '_'))
            .unwrap_or(s.len());
        let (number, unit) = (s[..split].replace('_', ""), s[split..].trim());
        let multiplier: u64 = match unit.to_ascii_lowercase().as_str() {
            "" | "b" => 1,
            "k" | "kb" => 1_000,
            "m" | "mb" => 1_000_000,
            "g" | "gb" => 1_000_000_000,
            "t" | "tb" => 1_000_000_000_000,
            "kib" => 1 << 10,
            "mib" => 1 << 20,
            "gib" => 1 << 30,
            "tib" => 1 << 40,
            _ => return Err(ByteSizeError::Unit(unit.to_string())),
        };
        if number.is_empty() {
            return Err(ByteSizeError::Number(s.to_string()));
        }
        // Integers are parsed exactly; only fractions go through f64.
        if let Ok(n) = number.parse::<u64>() {
            return n
                .checked_mul(multiplier)
                .map(ByteSize)
                .ok_or_else(|| ByteSizeError::Range(s.to_string()));
        }
        let value: f64 = number
            .parse()
            .map_err(|_| ByteSizeError::Number(s.to_string()))?;
        let bytes = (value * multiplier as f64).round();
        if !bytes.is_finite() || bytes < 0.0 || bytes >= u64::MAX as f64 {
            return Err(ByteSizeError::Range(s.to_string()));
        }
        Ok(ByteSize(bytes as u64))
    }
}

impl fmt::Display for ByteSize {
    /// The largest binary unit that divides the size exactly, else bytes with a readable unit.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const UNITS: [(&str, u64); 4] = [
            ("TiB", 1 << 40),
            ("GiB", 1 << 30),
            ("MiB", 1 << 20),
            ("KiB", 1 << 10),
        ];
        for (name, size) in UNITS {
            if self.0 >= size && self.0.is_multiple_of(size) {
                return write!(f, "{}{}", self.0 / size, name);
            }
        }
        for (name, size) in UNITS {
            if self.0 >= size {
                return write!(f, "{:.2}{}", self.0 as f64 / size as f64, name);
            }
        }
        write!(f, "{}B", self.0)
    }
}

/// A rate in bits per second, parsed from `1Gbit`, `100 Mbit/s`, `2.5Gbps` or `1000000`
/// (decimal prefixes, as link rates are quoted).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Rate(pub u64);

/// Why a rate or a duration did not parse.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum UnitError {
    /// Not a number followed by a known unit.
    #[error("invalid {what} {text:?} ({hint})")]
    Invalid {
        /// Rate or duration.
        what: &'static str,
        /// The input.
        text: String,
        /// The accepted forms.
        hint: &'static str,
    },
}

/// Splits `1.5Gbit` into (1.5, "gbit").
fn number_and_unit(text: &str) -> Option<(f64, String)> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let value: f64 = text[..split].parse().ok()?;
    (value.is_finite() && value >= 0.0).then(|| (value, text[split..].trim().to_ascii_lowercase()))
}

impl FromStr for Rate {
    type Err = UnitError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let invalid = || UnitError::Invalid {
            what: "rate",
            text: text.to_string(),
            hint: "e.g. 100Mbit, 1Gbit, 2.5Gbit/s, or bits per second",
        };
        let (value, unit) = number_and_unit(text).ok_or_else(invalid)?;
        let unit = unit.trim_end_matches("/s");
        let unit = match unit.strip_suffix("bps") {
            Some(prefix) => format!("{prefix}bit"),
            None => unit.to_string(),
        };
        let multiplier = match unit.as_str() {
            "" | "bit" | "b" => 1e0,
            "k" | "kbit" => 1e3,
            "m" | "mbit" => 1e6,
            "g" | "gbit" => 1e9,
            _ => return Err(invalid()),
        };
        let bits = (value * multiplier).round();
        if bits < 1.0 || bits >= u64::MAX as f64 {
            return Err(invalid());
        }
        Ok(Rate(bits as u64))
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            r if r >= 1_000_000_000 => write!(f, "{}Gbit", r as f64 / 1e9),
            r if r >= 1_000_000 => write!(f, "{}Mbit", r as f64 / 1e6),
            r if r >= 1_000 => write!(f, "{}kbit", r as f64 / 1e3),
            r => write!(f, "{r}bit"),
        }
    }
}

/// Parses a duration: `50ms`, `1.5s`, `250us`, `2m`, or `0`.
pub fn parse_duration(text: &str) -> Result<std::time::Duration, UnitError> {
    let invalid = || UnitError::Invalid {
        what: "duration",
        text: text.to_string(),
        hint: "e.g. 0, 250us, 50ms, 1.5s, 2m",
    };
    let (value, unit) = number_and_unit(text).ok_or_else(invalid)?;
    let seconds = match unit.as_str() {
        "" if value == 0.0 => 0.0,
        "s" | "sec" => value,
        "ms" => value / 1e3,
        "us" | "µs" => value / 1e6,
        "ns" => value / 1e9,
        "m" | "min" => value * 60.0,
        _ => return Err(invalid()),
    };
    std::time::Duration::try_from_secs_f64(seconds).map_err(|_| invalid())
}

/// Bits per second from a byte count and a duration; 0 for a zero duration.
pub fn bits_per_second(bytes: u64, seconds: f64) -> f64 {
    if seconds > 0.0 {
        bytes as f64 * 8.0 / seconds
    } else {
        0.0
    }
}

/// A moment in UTC, split into calendar fields (proleptic Gregorian calendar).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UtcTime {
    /// Year.
    pub year: i64,
    /// Month, 1–12.
    pub month: u32,
    /// Day of the month, 1–31.
    pub day: u32,
    /// Hour, 0–23.
    pub hour: u32,
    /// Minute, 0–59.
    pub minute: u32,
    /// Second, 0–59.
    pub second: u32,
    /// Day of the week, 0 = Sunday.
    pub weekday: u32,
}

impl UtcTime {
    /// The UTC calendar time `unix_secs` seconds after 1970-01-01T00:00:00Z, by Howard Hinnant's
    /// civil-from-days algorithm.
    pub fn from_unix(unix_secs: u64) -> Self {
        let days = (unix_secs / 86_400) as i64;
        let in_day = (unix_secs % 86_400) as u32;
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
        UtcTime {
            year: yoe + era * 400 + i64::from(month <= 2),
            month,
            day,
            hour: in_day / 3600,
            minute: in_day / 60 % 60,
            second: in_day % 60,
            // 1970-01-01 was a Thursday.
            weekday: ((days + 4) % 7) as u32,
        }
    }

    /// Now.
    pub fn now() -> Self {
        Self::from_unix(unix_seconds(std::time::SystemTime::now()))
    }

    /// `YYYY-MM-DD`.
    pub fn date(&self) -> String {
        format!("{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }

    /// `HH:MM:SS`.
    pub fn time(&self) -> String {
        format!("{:02}:{:02}:{:02}", self.hour, self.minute, self.second)
    }

    /// `Mon, 07 Dec 2026 15:03:09 UTC`: C's `strftime("%a, %d %b %Y %H:%M:%S %Z")` of a UTC time.
    pub fn rfc2822(&self) -> String {
        const DAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
        const MONTHS: [&str; 12] = [
            "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
        ];
        format!(
            "{}, {:02} {} {:04} {:02}:{:02}:{:02} UTC",
            DAYS[self.weekday as usize],
            self.day,
            MONTHS[self.month as usize - 1],
            self.year,
            self.hour,
            self.minute,
            self.second
        )
    }
}

/// Whole seconds from 1970-01-01T00:00:00Z to `t` (0 before it).
pub fn unix_seconds(t: std::time::SystemTime) -> u64 {
    t.duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_times_split_into_calendar_fields() {
        // `date -u -d @0`, `@951782400` (a leap day) and `@1796655789`.
        let epoch = UtcTime::from_unix(0);
        assert_eq!(epoch.rfc2822(), "Thu, 01 Jan 1970 00:00:00 UTC");
        assert_eq!(UtcTime::from_unix(951_782_400).date(), "2000-02-29");
        let t = UtcTime::from_unix(1_796_655_789);
        assert_eq!(t.rfc2822(), "Mon, 07 Dec 2026 15:03:09 UTC");
        assert_eq!(t.date(), "2026-12-07");
        assert_eq!(t.time(), "15:03:09");
    }

    #[test]
    fn parses_binary_decimal_and_plain_sizes() {
        let cases = [
            ("1GiB", 1u64 << 30),
            ("64 KiB", 64 << 10),
            ("16MiB", 16 << 20),
            ("1.5KiB", 1536),
            ("100MB", 100_000_000),
            ("1GB", 1_000_000_000),
            ("2kb", 2000),
            ("4096", 4096),
            ("4096B", 4096),
            ("0", 0),
            ("1_000", 1000),
        ];
        for (text, bytes) in cases {
            assert_eq!(text.parse::<ByteSize>(), Ok(ByteSize(bytes)), "{text}");
        }
    }

    #[test]
    fn rejects_bad_sizes() {
        assert_eq!("".parse::<ByteSize>(), Err(ByteSizeError::Empty));
        assert!(matches!(
            "1 parsec".parse::<ByteSize>(),
            Err(ByteSizeError::Unit(_))
        ));
        assert!(matches!(
            "GiB".parse::<ByteSize>(),
            Err(ByteSizeError::Number(_))
        ));
        assert!(matches!(
            "1.2.3MiB".parse::<ByteSize>(),
            Err(ByteSizeError::Number(_))
        ));
        assert!(matches!(
            "99999999999TiB".parse::<ByteSize>(),
            Err(ByteSizeError::Range(_))
        ));
        assert!(matches!(
            "-1".parse::<ByteSize>(),
            Err(ByteSizeError::Unit(_))
        ));
    }

    #[test]
    fn parses_rates() {
        for (text, bits) in [
            ("1Gbit", 1_000_000_000u64),
            ("100 Mbit/s", 100_000_000),
            ("2.5Gbps", 2_500_000_000),
            ("64kbit", 64_000),
            ("1000", 1000),
        ] {
            assert_eq!(text.parse::<Rate>(), Ok(Rate(bits)), "{text}");
        }
        for bad in ["", "fast", "1 GiB", "0", "-5Mbit"] {
            assert!(bad.parse::<Rate>().is_err(), "{bad}");
        }
        assert_eq!(Rate(1_000_000_000).to_string(), "1Gbit");
    }

    #[test]
    fn parses_durations() {
        use std::time::Duration;
        assert_eq!(parse_duration("50ms"), Ok(Duration::from_millis(50)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("250us"), Ok(Duration::from_micros(250)));
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        for bad in ["", "50", "5 parsecs", "-1s"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn displays_exact_binary_units() {
        assert_eq!(ByteSize(1 << 30).to_string(), "1GiB");
        assert_eq!(ByteSize(256 << 10).to_string(), "256KiB");
        assert_eq!(ByteSize(1536).to_string(), "1.50KiB");
        assert_eq!(ByteSize(12).to_string(), "12B");
    }
}
