//! When to try an HTTP request again and how long to wait first, for both clients (the
//! registry's transport and the XNAT client): the number of tries, the exponential backoff and
//! the longest `Retry-After` honoured.
//!
//! `XNAT_CMD_BACKOFF_MS` sets the first wait (default 200 ms; each retry doubles it). It exists
//! for the seeded fault runs (`tests/it/faults.rs`), which make hundreds of runs with injected
//! 5xx and resets and cannot spend seconds waiting in each; users have no reason to set it.

use std::sync::OnceLock;
use std::time::Duration;

/// The numbers live with every other limit (the reasons are there).
pub use crate::limits::{MAX_RETRIES, MAX_RETRY_AFTER};

/// The environment variable that sets the first wait, in milliseconds.
pub const BACKOFF_ENV: &str = "XNAT_CMD_BACKOFF_MS";

const DEFAULT_BASE_MS: u64 = 200;

// The seeded fault runs' hook (module doc), read once per process: the one environment read
// outside `env.rs`, until the backoff base is a setting passed down with the clients.
#[allow(clippy::disallowed_methods)]
fn base_ms() -> u64 {
    static BASE: OnceLock<u64> = OnceLock::new();
    *BASE.get_or_init(|| {
        std::env::var(BACKOFF_ENV)
            .ok()
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(DEFAULT_BASE_MS)
    })
}

/// The wait before retry number `attempt` (1-based): base × 2^attempt, the exponent capped at 5.
pub fn backoff(attempt: u32) -> Duration {
    wait(base_ms(), attempt)
}

fn wait(base_ms: u64, attempt: u32) -> Duration {
    Duration::from_millis(base_ms.saturating_mul(1 << attempt.min(5)))
}

/// `Retry-After`: delta-seconds or an HTTP date (a date in the past is 0).
pub fn parse_retry_after(v: &str) -> Option<u64> {
    if let Ok(s) = v.trim().parse::<u64>() {
        return Some(s);
    }
    let at = httpdate::parse_http_date(v.trim()).ok()?;
    Some(
        at.duration_since(std::time::SystemTime::now())
            .map_or(0, |d| d.as_secs()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_double_and_stop_growing() {
        let cases = [
            (200, 1, 400),
            (200, 2, 800),
            (200, 3, 1600),
            (200, 9, 6400),
            (1, 1, 2),
            (0, 3, 0),
        ];
        for (base, attempt, ms) in cases {
            assert_eq!(
                wait(base, attempt),
                Duration::from_millis(ms),
                "{base} {attempt}"
            );
        }
    }

    #[test]
    fn retry_after_forms() {
        let cases = [
            ("3", Some(3)),
            (" 0 ", Some(0)),
            ("Wed, 21 Oct 2015 07:28:00 GMT", Some(0)),
            ("soon", None),
        ];
        for (v, want) in cases {
            assert_eq!(parse_retry_after(v), want, "{v}");
        }
    }
}
