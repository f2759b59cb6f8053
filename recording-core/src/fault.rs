//! Fault plans: what the recorder does to an answer to test an app's failure handling
//! on real recorded answers: an HTTP error in the provider's own shape, a delay, a
//! stream cut short, reset, ended by the provider's error event, or a malformed chunk.
//!
//! A plan is one short string, for an environment variable (`TEST_INFERENCE_FAULTS`), a
//! server flag (`serve --fault`) or a request header (`X-Recording-Fault`): rules
//! separated by `,`, each a fault and optional selectors separated by `;`.
//!
//! | fault | does |
//! |---|---|
//! | `status=429` | answers with that status and the provider's error body and headers (`429`: `Retry-After` and the rate-limit headers; `529`: Anthropic's `overloaded_error`); `retry-after=S` sets the wait |
//! | `delay=2s` | waits before the answer (`ms`, `s`) |
//! | `first-chunk=500ms` | waits before a stream's first chunk |
//! | `cut=2` | ends a stream cleanly after 2 chunks, without its end marker |
//! | `reset=2` | breaks the connection after 2 chunks (in process: a transport error) |
//! | `error=2` | ends a stream after 2 chunks with the provider's in-stream error event |
//! | `malformed=2` | sends a malformed chunk after 2 chunks |
//!
//! | selector | selects |
//! |---|---|
//! | (none) | every call |
//! | `call=1` | the first call of a request (of its key, so within its scope); `call=2-3` a range |
//! | `p=0.3` | each call with that probability; `seed=7` fixes which (default 0): the same seed picks the same calls |
//!
//! `status=429;call=1` answers a request's first call with a 429 and its retry with
//! the recording. Faults are never recorded: a status fault reaches no server, and a
//! stream cut short for the caller is still recorded whole.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use futures::StreamExt;

use crate::api::client::{ApiResponse, ChunkStream, Ending, Recorded, RecordedBody, ResponseBody};
use crate::api::error::Error;
use crate::normalizer::Normalizer;

/// The environment variable that sets a fault plan for every recorder of the run.
pub const FAULTS_ENV: &str = "TEST_INFERENCE_FAULTS";

/// How an injected status error's `not_recorded` begins, before the rule.
pub const INJECTED: &str = "an injected fault: ";

/// The request header that sets the recording server's fault plan for one request.
pub const FAULT_HEADER: &str = "x-recording-fault";

/// One thing done to an answer.
#[derive(Debug, Clone, PartialEq)]
pub enum Fault {
    /// An HTTP error with this status, in the provider's shape.
    Status {
        /// The status.
        status: u16,
        /// The seconds `Retry-After` says, for a 429, 503 or 529 (default 1).
        retry_after: u64,
    },
    /// A wait before the answer.
    Delay(Duration),
    /// A wait before a stream's first chunk.
    FirstChunk(Duration),
    /// A stream ended cleanly after this many chunks, without its end marker.
    Cut(usize),
    /// A connection broken after this many chunks.
    Reset(usize),
    /// The provider's in-stream error event after this many chunks.
    StreamError(usize),
    /// A malformed chunk after this many chunks.
    Malformed(usize),
}

/// Which calls a rule applies to.
#[derive(Debug, Clone, PartialEq)]
enum Select {
    Every,
    Calls(u64, u64),
    Chance { p: f64, seed: u64 },
}

#[derive(Debug, Clone, PartialEq)]
struct Rule {
    fault: Fault,
    select: Select,
    text: String,
}

/// A parsed fault plan (see the module documentation for its syntax).
#[derive(Debug, Clone, PartialEq)]
pub struct FaultPlan {
    rules: Arc<[Rule]>,
}

/// What a call got from a plan: the fault and the rule that chose it, as written.
#[derive(Debug, Clone, PartialEq)]
pub struct Injected {
    /// The fault.
    pub fault: Fault,
    /// The rule, as written (`status=429;call=1`).
    pub rule: String,
}

impl fmt::Display for Injected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.rule)
    }
}

impl FaultPlan {
    /// The plan `TEST_INFERENCE_FAULTS` sets, if any.
    pub fn from_env() -> Result<Option<FaultPlan>, Error> {
        match std::env::var(FAULTS_ENV) {
            Ok(text) if !text.trim().is_empty() => text
                .parse()
                .map(Some)
                .map_err(|err: Error| Error::Config(format!("{FAULTS_ENV}: {err}"))),
            _ => Ok(None),
        }
    }

    /// The fault for call `call` (counted from 1) of the request keyed `key`: the
    /// first rule that selects it.
    pub fn choose(&self, key: &str, call: u64) -> Option<Injected> {
        self.rules
            .iter()
            .find(|rule| match rule.select {
                Select::Every => true,
                Select::Calls(from, to) => (from..=to).contains(&call),
                Select::Chance { p, seed } => chance(seed, key, call) < p,
            })
            .map(|rule| Injected {
                fault: rule.fault.clone(),
                rule: rule.text.clone(),
            })
    }
}

impl fmt::Display for FaultPlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let rules: Vec<&str> = self.rules.iter().map(|rule| rule.text.as_str()).collect();
        f.write_str(&rules.join(","))
    }
}

impl FromStr for FaultPlan {
    type Err = Error;

    fn from_str(text: &str) -> Result<FaultPlan, Error> {
        let rules = text
            .split(',')
            .map(str::trim)
            .filter(|rule| !rule.is_empty())
            .map(parse_rule)
            .collect::<Result<Vec<Rule>, Error>>()?;
        if rules.is_empty() {
            return Err(bad(
                text,
                "an empty fault plan; give a fault such as status=429 or cut=2",
            ));
        }
        Ok(FaultPlan {
            rules: rules.into(),
        })
    }
}

fn bad(part: &str, why: &str) -> Error {
    Error::Config(format!("fault {part:?}: {why}"))
}

fn parse_rule(text: &str) -> Result<Rule, Error> {
    let mut fault = None;
    let mut select = Select::Every;
    let mut retry_after = 1;
    let mut chance_p = None;
    let mut seed = 0;
    for part in text.split(';').map(str::trim) {
        let (name, value) = part
            .split_once('=')
            .ok_or_else(|| bad(part, "write name=value, such as status=429"))?;
        let (name, value) = (name.trim(), value.trim());
        let count = || {
            value
                .parse::<usize>()
                .map_err(|_| bad(part, "a number of chunks, such as 2"))
        };
        let found = match name {
            "status" => {
                let status = value
                    .parse::<u16>()
                    .ok()
                    .filter(|status| (400..=599).contains(status))
                    .ok_or_else(|| bad(part, "an HTTP error status from 400 to 599"))?;
                Some(Fault::Status {
                    status,
                    retry_after: 1,
                })
            }
            "delay" => Some(Fault::Delay(duration(part, value)?)),
            "first-chunk" => Some(Fault::FirstChunk(duration(part, value)?)),
            "cut" => Some(Fault::Cut(count()?)),
            "reset" => Some(Fault::Reset(count()?)),
            "error" => Some(Fault::StreamError(count()?)),
            "malformed" => Some(Fault::Malformed(count()?)),
            "retry-after" => {
                retry_after = value
                    .parse()
                    .map_err(|_| bad(part, "whole seconds, such as 1"))?;
                None
            }
            "call" => {
                let (from, to) = match value.split_once('-') {
                    Some((from, to)) => (from.trim(), to.trim()),
                    None => (value, value),
                };
                let number = |text: &str| {
                    text.parse::<u64>()
                        .ok()
                        .filter(|n| *n >= 1)
                        .ok_or_else(|| bad(part, "a call number from 1, or a range such as 1-2"))
                };
                select = Select::Calls(number(from)?, number(to)?);
                None
            }
            "p" => {
                chance_p = Some(
                    value
                        .parse::<f64>()
                        .ok()
                        .filter(|p| (0.0..=1.0).contains(p))
                        .ok_or_else(|| bad(part, "a probability from 0 to 1, such as 0.3"))?,
                );
                None
            }
            "seed" => {
                seed = value
                    .parse()
                    .map_err(|_| bad(part, "a whole number, such as 7"))?;
                None
            }
            _ => {
                return Err(bad(
                    part,
                    "unknown; faults are status, delay, first-chunk, cut, reset, error, malformed; selectors call, p, seed; retry-after goes with status",
                ));
            }
        };
        if let Some(found) = found {
            if fault.is_some() {
                return Err(bad(text, "one fault per rule; separate rules with ,"));
            }
            fault = Some(found);
        }
    }
    let mut fault =
        fault.ok_or_else(|| bad(text, "no fault; give one such as status=429 or cut=2"))?;
    if let Fault::Status {
        retry_after: after, ..
    } = &mut fault
    {
        *after = retry_after;
    }
    if let Some(p) = chance_p {
        if select != Select::Every {
            return Err(bad(text, "call and p select calls two ways; give one"));
        }
        select = Select::Chance { p, seed };
    }
    Ok(Rule {
        fault,
        select,
        text: text.to_owned(),
    })
}

fn duration(part: &str, value: &str) -> Result<Duration, Error> {
    let (number, scale) = if let Some(ms) = value.strip_suffix("ms") {
        (ms, 0.001)
    } else if let Some(s) = value.strip_suffix('s') {
        (s, 1.0)
    } else {
        return Err(bad(part, "a time with its unit, such as 500ms or 2s"));
    };
    number
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|n| n.is_finite() && *n >= 0.0 && *n * scale <= 3_600.0)
        .map(|n| Duration::from_secs_f64(n * scale))
        .ok_or_else(|| {
            bad(
                part,
                "a time with its unit, such as 500ms or 2s, up to an hour",
            )
        })
}

/// A number in [0, 1) fixed by `seed`, `key` and `call`: SplitMix64 over an FNV-1a
/// hash, so a seed picks the same calls on every run and machine.
fn chance(seed: u64, key: &str, call: u64) -> f64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in key.bytes() {
        hash = (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
    }
    let mut z = hash ^ seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ call.rotate_left(32);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 53) as f64
}

/// How many times each key was called under a plan, shared by a recorder's clones, so
/// `call=1` means the first call of a request however many fronts answer it.
#[derive(Debug, Clone, Default)]
pub(crate) struct Calls(Arc<Mutex<HashMap<String, u64>>>);

impl Calls {
    /// Counts a call of `key`; its number, from 1.
    pub(crate) fn next(&self, key: &str) -> u64 {
        let mut calls = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let count = calls.entry(key.to_owned()).or_insert(0);
        *count += 1;
        *count
    }
}

/// `response` with the stream fault of `injected` applied (status and delay faults
/// are the recorder's, before the call): a stream taken to its first chunks, then
/// ended cleanly, broken, ended with the provider's error event or a malformed chunk.
/// An answer that is not a stream is left as it is.
pub(crate) fn inject(
    response: ApiResponse,
    injected: &Injected,
    rules: &dyn Normalizer,
) -> ApiResponse {
    let streamed = matches!(
        &response.body,
        ResponseBody::Stream(_) | ResponseBody::Recorded(RecordedBody(Recorded::Stream { .. }))
    );
    if !streamed {
        let mut response = response;
        if matches!(injected.fault, Fault::Delay(_)) {
            response.fault = Some(injected.rule.clone());
        }
        return response;
    }
    let origin = response.origin.clone();
    let chunks = match response.into_stream() {
        Ok(chunks) => chunks,
        Err(err) => {
            return ApiResponse::stream(Box::pin(futures::stream::once(async { Err(err) })));
        }
    };
    let rule = &injected.rule;
    let (ending, tail): (Ending, Option<Error>) = match injected.fault {
        Fault::Cut(_) => (Ending::Cut, None),
        Fault::Reset(_) => (
            Ending::Marker,
            Some(Error::Transport(format!(
                "connection reset by peer (an injected fault: {rule})"
            ))),
        ),
        Fault::StreamError(_) => {
            let (status, body) = rules.fault_stream_error();
            (Ending::Marker, Some(Error::api(status, body)))
        }
        Fault::Malformed(_) => {
            let text = rules.fault_malformed_chunk();
            (
                Ending::Malformed(text),
                Some(Error::Transport(format!(
                    "a malformed chunk: {text} (an injected fault: {rule})"
                ))),
            )
        }
        _ => (Ending::Marker, None),
    };
    let stream: ChunkStream = match injected.fault {
        Fault::FirstChunk(wait) => Box::pin(
            futures::stream::once(async move {
                tokio::time::sleep(wait).await;
                chunks
            })
            .flatten(),
        ),
        Fault::Cut(n) | Fault::Reset(n) | Fault::StreamError(n) | Fault::Malformed(n) => {
            Box::pin(chunks.take(n).chain(futures::stream::iter(tail.map(Err))))
        }
        _ => chunks,
    };
    ApiResponse {
        body: ResponseBody::Stream(stream),
        origin,
        ending,
        fault: Some(rule.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(text: &str) -> FaultPlan {
        text.parse().unwrap_or_else(|err| panic!("{text}: {err}"))
    }

    #[test]
    fn plans_read_as_written_and_bad_parts_are_named() {
        let first = plan("status=429;call=1");
        assert_eq!(
            first.choose("k", 1).map(|i| i.fault),
            Some(Fault::Status {
                status: 429,
                retry_after: 1
            })
        );
        assert_eq!(first.choose("k", 2), None, "the retry gets the recording");
        let two = plan("cut=2;call=2-3, delay=1500ms");
        assert_eq!(
            two.choose("k", 1).map(|i| i.fault),
            Some(Fault::Delay(Duration::from_millis(1500)))
        );
        assert_eq!(
            two.choose("k", 3).map(|i| i.rule),
            Some("cut=2;call=2-3".into())
        );
        assert_eq!(two.to_string(), "cut=2;call=2-3,delay=1500ms");
        assert_eq!(
            plan("status=503;retry-after=0")
                .choose("k", 9)
                .map(|i| i.fault),
            Some(Fault::Status {
                status: 503,
                retry_after: 0
            })
        );
        for (bad, says) in [
            ("status=200", "\"status=200\": an HTTP error status"),
            ("cut=two", "\"cut=two\": a number of chunks"),
            ("delay=2", "\"delay=2\": a time with its unit"),
            ("explode=1", "\"explode=1\": unknown"),
            ("call=1", "no fault"),
            ("cut=1;reset=2", "one fault per rule"),
            ("cut=1;call=0", "a call number from 1"),
            ("cut=1;call=1;p=0.5", "give one"),
            ("", "an empty fault plan"),
        ] {
            let err = bad.parse::<FaultPlan>().expect_err(bad).to_string();
            assert!(err.contains(says), "{bad}: {err}");
        }
    }

    #[test]
    fn a_seed_picks_the_same_calls_every_time() {
        let picks = |seed: u64| -> Vec<bool> {
            let plan = plan(&format!("status=500;p=0.5;seed={seed}"));
            (1..=64)
                .map(|call| plan.choose("key", call).is_some())
                .collect()
        };
        assert_eq!(picks(7), picks(7));
        assert_ne!(picks(7), picks(8));
        let hits = picks(7).iter().filter(|hit| **hit).count();
        assert!((16..=48).contains(&hits), "about half: {hits}");
        assert!(plan("cut=1;p=0").choose("key", 1).is_none());
        assert!(plan("cut=1;p=1").choose("key", 1).is_some());
    }
}
