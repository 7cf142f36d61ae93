//! When to try an HTTP request again and how long to wait first, for every client here (the
//! registry's transport, the XNAT client with its create and logout, the Pushgateway): one
//! [`Policy::decide`] turns what a try ended with ([`Outcome`]), the retries already made and
//! whether the request may be repeated ([`Repeat`]) into a [`Decision`]. What differs between
//! the servers is written as the fields of their policies ([`Policy::registry`],
//! [`Policy::xnat`], [`Policy::pushgateway`]), not as separate loops.
//!
//! The waits double from a base, a field of the policy ([`Policy::backoff_base`], default
//! [`crate::limits::DEFAULT_BACKOFF_BASE`]) that each client takes from its options. The CLI
//! sets it from `XNAT_CMD_BACKOFF_MS` ([`BACKOFF_ENV`], resolved with the other settings): it
//! exists for the seeded fault runs (`tests/it/faults.rs`), which make hundreds of runs with
//! injected 5xx and resets and cannot spend seconds waiting in each; users have no reason to
//! set it.

use std::time::Duration;

use reqwest::header::{HeaderMap, RETRY_AFTER};
use reqwest::StatusCode;

/// The numbers live with every other limit (the reasons are there).
pub use crate::limits::{DEFAULT_BACKOFF_BASE, MAX_RETRIES, MAX_RETRY_AFTER};

/// The environment variable the CLI sets the backoff base from, in milliseconds (the seeded
/// fault runs' hook; module doc).
pub const BACKOFF_ENV: &str = "XNAT_CMD_BACKOFF_MS";

/// The wait before retry number `attempt` (1-based): base × 2^attempt, the exponent capped at 5.
pub fn backoff(base: Duration, attempt: u32) -> Duration {
    base.saturating_mul(1 << attempt.min(5))
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

/// What one try ended with, as far as another try is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// An answer that is not a success, with its `Retry-After` in seconds when it sent one.
    Answer {
        status: StatusCode,
        retry_after: Option<u64>,
    },
    /// No answer: the deadline of the request passed.
    Timeout,
    /// No answer: no connection could be opened.
    Connect,
    /// No answer: the connection broke while the request was sent or awaited (a reset).
    Reset,
    /// An answer whose body broke off before its end.
    CutOff,
    /// No answer for a reason another try cannot change (a bad certificate, a bad request).
    Fatal,
}

impl Outcome {
    /// The outcome of an answer with `status` and these headers.
    pub fn answer(status: StatusCode, headers: &HeaderMap) -> Self {
        Outcome::Answer {
            status,
            retry_after: headers
                .get(RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(parse_retry_after),
        }
    }

    /// The outcome of a request that got no answer (`reqwest` says why).
    pub fn of_error(e: &reqwest::Error) -> Self {
        if crate::tls::is_cert_error(e) {
            Outcome::Fatal
        } else if e.is_timeout() {
            Outcome::Timeout
        } else if e.is_connect() {
            Outcome::Connect
        } else if e.is_request() || e.is_body() {
            Outcome::Reset
        } else {
            Outcome::Fatal
        }
    }
}

/// Whether a request may be sent again after a try whose effect is unknown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Repeat {
    /// Sending it twice does what sending it once does (a GET, a PUT, an update in place).
    Safe,
    /// An earlier try may have done it: look whether it did before sending again (a create).
    LookFirst,
    /// Never sent twice (a POST whose repetition is not known to be harmless).
    Never,
}

/// What to do after a try.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Send again after this wait.
    Retry(Duration),
    /// Wait this long, look whether the earlier try took effect, and send again if it did not.
    LookThenRetry(Duration),
    /// The outcome stands.
    GiveUp,
}

/// Which 5xx answers another try may fix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerErrors {
    /// Every 5xx (registries, the Pushgateway: a 5xx there is a proxy or a restarting pod).
    All,
    /// 500, 502, 503 and 504 (XNAT: a 501 or 505 says the request will never work).
    Transient,
}

/// The retry rules of one server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// Most retries after the first try.
    pub max_retries: u32,
    /// Which 5xx are tried again.
    pub server_errors: ServerErrors,
    /// A request whose deadline passed is tried again. XNAT's deadline is minutes, and a write
    /// that timed out may still be running there, so XNAT never retries one.
    pub timeouts: bool,
    /// A refused connection is tried again before the server has answered once in this run.
    /// XNAT says no: a refusal then is most likely a wrong URL, which should fail at once.
    pub connect_before_answer: bool,
    /// The longest `Retry-After` waited out; a longer one is the error (as is any wait once
    /// the retries are spent). It also caps the backoff of a 429 that names no wait.
    pub max_retry_after: Duration,
    /// The base the waits double from ([`backoff`]): [`DEFAULT_BACKOFF_BASE`] unless the
    /// client's options say otherwise ([`Policy::with_backoff`]).
    pub backoff_base: Duration,
}

impl Policy {
    /// A registry: every 5xx, timeouts and refused connections are tried again (reads only).
    pub fn registry(max_retries: u32, max_retry_after: Duration) -> Self {
        Policy {
            max_retries,
            server_errors: ServerErrors::All,
            timeouts: true,
            connect_before_answer: true,
            max_retry_after,
            backoff_base: DEFAULT_BACKOFF_BASE,
        }
    }

    /// XNAT: the transient 5xx, never a timeout, a refused connection only once XNAT answered.
    pub fn xnat() -> Self {
        Policy {
            max_retries: MAX_RETRIES,
            server_errors: ServerErrors::Transient,
            timeouts: false,
            connect_before_answer: false,
            max_retry_after: MAX_RETRY_AFTER,
            backoff_base: DEFAULT_BACKOFF_BASE,
        }
    }

    /// A Pushgateway: one idempotent `PUT`, tried again after any failure but a TLS one.
    pub fn pushgateway() -> Self {
        Policy {
            max_retries: MAX_RETRIES,
            server_errors: ServerErrors::All,
            timeouts: true,
            connect_before_answer: true,
            max_retry_after: MAX_RETRY_AFTER,
            backoff_base: DEFAULT_BACKOFF_BASE,
        }
    }

    /// This policy with its waits doubling from `base` instead.
    pub fn with_backoff(self, base: Duration) -> Self {
        Policy {
            backoff_base: base,
            ..self
        }
    }

    /// The wait before retry number `attempt` (1-based) under this policy.
    pub fn backoff(&self, attempt: u32) -> Duration {
        backoff(self.backoff_base, attempt)
    }

    /// What to do after a try that ended with `outcome`, when `retries` retries were made
    /// before it and the server `answered` some request of this run.
    pub fn decide(
        &self,
        outcome: Outcome,
        retries: u32,
        repeat: Repeat,
        answered: bool,
    ) -> Decision {
        if repeat == Repeat::Never || retries >= self.max_retries {
            return Decision::GiveUp;
        }
        let next = retries + 1;
        let wait = match outcome {
            Outcome::Answer {
                status,
                retry_after,
            } if status == StatusCode::TOO_MANY_REQUESTS => {
                match retry_after.map(Duration::from_secs) {
                    Some(d) if d > self.max_retry_after => return Decision::GiveUp,
                    Some(d) => d,
                    None => self.backoff(next).min(self.max_retry_after),
                }
            }
            Outcome::Answer { status, .. } => {
                let transient = match self.server_errors {
                    ServerErrors::All => status.is_server_error(),
                    ServerErrors::Transient => matches!(status.as_u16(), 500 | 502 | 503 | 504),
                };
                if !transient {
                    return Decision::GiveUp;
                }
                self.backoff(next)
            }
            Outcome::Timeout if !self.timeouts => return Decision::GiveUp,
            Outcome::Connect if !answered && !self.connect_before_answer => {
                return Decision::GiveUp
            }
            Outcome::Timeout | Outcome::Connect | Outcome::Reset | Outcome::CutOff => {
                self.backoff(next)
            }
            Outcome::Fatal => return Decision::GiveUp,
        };
        match repeat {
            Repeat::LookFirst => Decision::LookThenRetry(wait),
            _ => Decision::Retry(wait),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: u16, retry_after: Option<u64>) -> Outcome {
        Outcome::Answer {
            status: StatusCode::from_u16(status).unwrap_or(StatusCode::IM_A_TEAPOT),
            retry_after,
        }
    }

    /// The one table of both clients' cases (and the Pushgateway's): what each server's
    /// policy decides after a try, given the retries made, whether the request may be
    /// repeated and whether the server answered before. The rows are the rules the clients
    /// had on their own, so a difference between servers shows as rows side by side.
    #[test]
    fn decisions_of_every_client() {
        use Decision::{GiveUp, LookThenRetry, Retry};
        use Repeat::{LookFirst, Never, Safe};
        let registry = Policy::registry(MAX_RETRIES, MAX_RETRY_AFTER);
        let xnat = Policy::xnat();
        let push = Policy::pushgateway();
        let (ms, secs) = (Duration::from_millis, Duration::from_secs);
        // The default waits: 200 ms doubled per retry.
        let (b1, b2, b3) = (ms(400), ms(800), ms(1600));
        let fast = |p: Policy| p.with_backoff(ms(1));
        #[rustfmt::skip]
        let cases: Vec<(&str, Policy, Outcome, u32, Repeat, bool, Decision)> = vec![
            // Registry reads: every 5xx, timeouts and refusals, 429 waits its Retry-After.
            ("registry 500", registry, answer(500, None), 0, Safe, true, Retry(b1)),
            ("registry 501", registry, answer(501, None), 0, Safe, true, Retry(b1)),
            ("registry 503 again", registry, answer(503, None), 1, Safe, true, Retry(b2)),
            ("registry 500 spent", registry, answer(500, None), MAX_RETRIES, Safe, true, GiveUp),
            ("registry 404", registry, answer(404, None), 0, Safe, true, GiveUp),
            ("registry 429 Retry-After 2", registry, answer(429, Some(2)), 0, Safe, true, Retry(secs(2))),
            ("registry 429 no Retry-After", registry, answer(429, None), 0, Safe, true, Retry(b1.min(MAX_RETRY_AFTER))),
            ("registry 429 Retry-After too long", registry, answer(429, Some(3600)), 0, Safe, true, GiveUp),
            ("registry 429 spent", registry, answer(429, Some(0)), MAX_RETRIES, Safe, true, GiveUp),
            ("registry timeout", registry, Outcome::Timeout, 0, Safe, true, Retry(b1)),
            ("registry refused first", registry, Outcome::Connect, 0, Safe, false, Retry(b1)),
            ("registry reset", registry, Outcome::Reset, 2, Safe, true, Retry(b3)),
            ("registry body cut off", registry, Outcome::CutOff, 0, Safe, true, Retry(b1)),
            ("registry bad certificate", registry, Outcome::Fatal, 0, Safe, true, GiveUp),
            ("registry --max-retries 0", Policy::registry(0, MAX_RETRY_AFTER), answer(500, None), 0, Safe, true, GiveUp),
            ("registry short Retry-After cap", Policy::registry(3, secs(1)), answer(429, Some(2)), 0, Safe, true, GiveUp),
            // XNAT: the transient 5xx only, never a timeout, a refusal only once it answered.
            ("xnat 500", xnat, answer(500, None), 0, Safe, true, Retry(b1)),
            ("xnat 502", xnat, answer(502, None), 0, Safe, true, Retry(b1)),
            ("xnat 503", xnat, answer(503, None), 1, Safe, true, Retry(b2)),
            ("xnat 504", xnat, answer(504, None), 0, Safe, true, Retry(b1)),
            ("xnat 501", xnat, answer(501, None), 0, Safe, true, GiveUp),
            ("xnat 505", xnat, answer(505, None), 0, Safe, true, GiveUp),
            ("xnat 400", xnat, answer(400, None), 0, Safe, true, GiveUp),
            ("xnat 404", xnat, answer(404, None), 0, Safe, true, GiveUp),
            ("xnat 500 spent", xnat, answer(500, None), MAX_RETRIES, Safe, true, GiveUp),
            ("xnat 429 Retry-After 2", xnat, answer(429, Some(2)), 0, Safe, true, Retry(secs(2))),
            ("xnat 429 no Retry-After", xnat, answer(429, None), 0, Safe, true, Retry(b1)),
            ("xnat 429 Retry-After too long", xnat, answer(429, Some(3600)), 0, Safe, true, GiveUp),
            ("xnat timeout", xnat, Outcome::Timeout, 0, Safe, true, GiveUp),
            ("xnat refused before any answer", xnat, Outcome::Connect, 0, Safe, false, GiveUp),
            ("xnat refused after answers", xnat, Outcome::Connect, 0, Safe, true, Retry(b1)),
            ("xnat reset before any answer", xnat, Outcome::Reset, 0, Safe, false, Retry(b1)),
            ("xnat answer cut off", xnat, Outcome::CutOff, 0, Safe, true, Retry(b1)),
            ("xnat untrusted certificate", xnat, Outcome::Fatal, 0, Safe, true, GiveUp),
            // XNAT's POSTs: never sent twice, except a create that looks first.
            ("xnat POST 503", xnat, answer(503, None), 0, Never, true, GiveUp),
            ("xnat POST reset", xnat, Outcome::Reset, 0, Never, true, GiveUp),
            ("xnat create 503", xnat, answer(503, None), 0, LookFirst, true, LookThenRetry(b1)),
            ("xnat create reset", xnat, Outcome::Reset, 1, LookFirst, true, LookThenRetry(b2)),
            ("xnat create cut off", xnat, Outcome::CutOff, 0, LookFirst, true, LookThenRetry(b1)),
            ("xnat create 429", xnat, answer(429, Some(1)), 0, LookFirst, true, LookThenRetry(secs(1))),
            ("xnat create 400 duplicate", xnat, answer(400, None), 0, LookFirst, true, GiveUp),
            ("xnat create timeout", xnat, Outcome::Timeout, 0, LookFirst, true, GiveUp),
            ("xnat create spent", xnat, Outcome::Reset, MAX_RETRIES, LookFirst, true, GiveUp),
            // The Pushgateway's PUT: any failure but a TLS one.
            ("push 500", push, answer(500, None), 0, Safe, true, Retry(b1)),
            ("push 507", push, answer(507, None), 0, Safe, true, Retry(b1)),
            ("push timeout", push, Outcome::Timeout, 0, Safe, true, Retry(b1)),
            ("push 400", push, answer(400, None), 0, Safe, true, GiveUp),
            ("push bad certificate", push, Outcome::Fatal, 0, Safe, true, GiveUp),
            // A 1 ms base (the fault runs' XNAT_CMD_BACKOFF_MS=1) doubles the same way.
            ("xnat 500, 1 ms base", fast(xnat), answer(500, None), 0, Safe, true, Retry(ms(2))),
            ("xnat create reset, 1 ms base", fast(xnat), Outcome::Reset, 1, LookFirst, true, LookThenRetry(ms(4))),
            ("registry reset, 1 ms base", fast(registry), Outcome::Reset, 2, Safe, true, Retry(ms(8))),
            ("registry 429 no Retry-After, 1 ms base", fast(registry), answer(429, None), 0, Safe, true, Retry(ms(2))),
            ("registry 429 Retry-After 2, 1 ms base", fast(registry), answer(429, Some(2)), 0, Safe, true, Retry(secs(2))),
            ("push timeout, 1 ms base", fast(push), Outcome::Timeout, 0, Safe, true, Retry(ms(2))),
            ("xnat timeout, 1 ms base", fast(xnat), Outcome::Timeout, 0, Safe, true, GiveUp),
        ];
        for (name, policy, outcome, retries, repeat, answered, want) in cases {
            assert_eq!(
                policy.decide(outcome, retries, repeat, answered),
                want,
                "{name}"
            );
        }
    }

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
                backoff(Duration::from_millis(base), attempt),
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
