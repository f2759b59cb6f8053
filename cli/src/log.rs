//! The command's log on stderr: tracing's own line (`2026-12-03T17:29:43.901009Z  INFO
//! target: message`), with a clock that formats the date once a second.
//!
//! `serve` writes one line per request; with tracing's `SystemTime` the date and time
//! of day were worked out afresh for each, about 1 µs of the 14 a cached hit cost the
//! server in a profile. The line is the same, byte for byte.

use std::cell::Cell;
use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::time::FormatTime;

/// Starts the log: `RUST_LOG` when set, else the recording server's lines.
pub(crate) fn init() {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_timer(UtcMicros)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("recording_server=info")),
        )
        .init();
}

/// UTC to the microsecond, as tracing's `SystemTime` writes it.
struct UtcMicros;

thread_local! {
    /// The second last written on this thread, and its text up to the seconds.
    static SECOND: Cell<(u64, [u8; 19])> = const { Cell::new((u64::MAX, [0; 19])) };
}

impl FormatTime for UtcMicros {
    fn format_time(&self, w: &mut Writer<'_>) -> fmt::Result {
        let since = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let seconds = since.as_secs();
        let (cached, mut text) = SECOND.get();
        if cached != seconds {
            text = second_text(seconds);
            SECOND.set((seconds, text));
        }
        let mut micros = [0u8; 8];
        micros[0] = b'.';
        digits(u64::from(since.subsec_micros()), &mut micros[1..7]);
        micros[7] = b'Z';
        // Only ASCII digits and punctuation were written.
        let text = std::str::from_utf8(&text).map_err(|_| fmt::Error)?;
        let micros = std::str::from_utf8(&micros).map_err(|_| fmt::Error)?;
        w.write_str(text)?;
        w.write_str(micros)
    }
}

/// `YYYY-MM-DDTHH:MM:SS` of a time `seconds` after the Unix epoch, in UTC.
fn second_text(seconds: u64) -> [u8; 19] {
    let (days, of_day) = (seconds / 86_400, seconds % 86_400);
    let (year, month, day) = civil(days);
    let mut text = *b"0000-00-00T00:00:00";
    digits(year.min(9_999), &mut text[0..4]);
    digits(month, &mut text[5..7]);
    digits(day, &mut text[8..10]);
    digits(of_day / 3_600, &mut text[11..13]);
    digits(of_day / 60 % 60, &mut text[14..16]);
    digits(of_day % 60, &mut text[17..19]);
    text
}

/// The proleptic Gregorian year, month and day `days` after 1970-01-01 (Howard
/// Hinnant's `civil_from_days`, for days on or after the epoch).
fn civil(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let day_of_era = z % 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
    let month = if shifted_month < 10 {
        shifted_month + 3
    } else {
        shifted_month - 9
    };
    let year = year_of_era + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

/// Writes `value` in decimal, zero-padded to fill `out`.
fn digits(mut value: u64, out: &mut [u8]) {
    for digit in out.iter_mut().rev() {
        *digit = b'0' + (value % 10) as u8;
        value /= 10;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(seconds: u64) -> String {
        String::from_utf8_lossy(&second_text(seconds)).into_owned()
    }

    #[test]
    fn dates_across_leap_years_and_centuries() {
        assert_eq!(text(0), "1970-01-01T00:00:00");
        assert_eq!(text(951_782_400), "2000-02-29T00:00:00");
        assert_eq!(text(951_868_799), "2000-02-29T23:59:59");
        assert_eq!(text(1_709_251_199), "2024-02-29T23:59:59");
        assert_eq!(text(1_709_251_200), "2024-03-01T00:00:00");
        assert_eq!(text(1_798_761_599), "2026-12-31T23:59:59");
        assert_eq!(text(4_107_542_399), "2100-02-28T23:59:59");
        assert_eq!(text(4_107_542_400), "2100-03-01T00:00:00");
    }

    #[test]
    fn the_line_is_tracings_own() {
        use tracing_subscriber::fmt::time::SystemTime as Tracing;
        let format = |timer: &dyn FormatTime| {
            let mut line = String::new();
            timer
                .format_time(&mut Writer::new(&mut line))
                .expect("formats");
            line
        };
        // Both within one second, only the microseconds may differ; a second that
        // turned between the two calls is tried again, twice at most.
        let (mut ours, mut theirs) = (format(&UtcMicros), format(&Tracing));
        for _ in 0..2 {
            if ours[..19] == theirs[..19] {
                break;
            }
            (ours, theirs) = (format(&UtcMicros), format(&Tracing));
        }
        assert_eq!(ours[..19], theirs[..19]);
        assert_eq!(ours.len(), theirs.len(), "{ours} {theirs}");
        assert_eq!(ours.len(), "2026-12-03T17:29:43.901009Z".len(), "{ours}");
        assert_eq!(ours.as_bytes()[19], b'.');
        assert!(
            ours.ends_with('Z') && theirs.ends_with('Z'),
            "{ours} {theirs}"
        );
        assert!(ours[20..26].bytes().all(|b| b.is_ascii_digit()), "{ours}");
    }
}
