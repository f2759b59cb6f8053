//! A small agent loop on a real model: it asks for the weather, runs the tool the
//! model calls (twice), and returns the model's answer. The tool's result carries the
//! current time and a fresh UUID, as real tools' results do: the loop's later turns
//! are new requests on every run unless the suite masks them (`uuid`, `iso8601`).

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::time::{SystemTime, UNIX_EPOCH};

use recording_core::{ApiRequest, Error, InferenceClient};
use serde_json::{Value, json};

use crate::requests::{MODEL, weather_tool};

/// What one run of the loop saw.
#[derive(Debug, Clone, PartialEq)]
pub struct Run {
    /// The tool results it sent, in order.
    pub tool_results: Vec<String>,
    /// The model's final answer.
    pub answer: String,
    /// The requests it made, in order.
    pub requests: Vec<ApiRequest>,
}

/// The current time as ISO 8601 in UTC, to the millisecond.
pub fn now_iso8601() -> String {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let (seconds, millis) = (since.as_secs() as i64, since.subsec_millis());
    let days = seconds.div_euclid(86_400);
    let of_day = seconds.rem_euclid(86_400);
    // Howard Hinnant's civil-from-days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{millis:03}Z",
        of_day / 3_600,
        of_day / 60 % 60,
        of_day % 60
    )
}

/// A random (version 4) UUID.
pub fn fresh_uuid() -> String {
    let half = || {
        let mut hasher = RandomState::new().build_hasher();
        hasher.write_u128(
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default()
                .as_nanos(),
        );
        hasher.finish()
    };
    let bits = (u128::from(half()) << 64) | u128::from(half());
    let bits = (bits & !(0xf << 76) | (0x4 << 76)) & !(0x3 << 62) | (0x2 << 62);
    let hex = format!("{bits:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

/// The tool: the weather in `city`, observed now, under a fresh report id.
pub fn weather_report(city: &str) -> String {
    json!({
        "city": city, "temperature_c": 21, "sky": "sunny",
        "observed_at": now_iso8601(), "report_id": fresh_uuid()
    })
    .to_string()
}

fn chat(messages: &[Value], tool_choice: &str, max_tokens: u32) -> ApiRequest {
    ApiRequest::post(
        "/v1/chat/completions",
        json!({
            "model": MODEL, "messages": messages, "tools": [weather_tool()],
            "tool_choice": tool_choice, "max_completion_tokens": max_tokens,
            "temperature": 0.0, "seed": 42
        }),
    )
}

/// The one-shot example a 135M model needs to answer with a call: a question answered
/// by one.
fn example() -> [Value; 2] {
    [
        json!({"role": "user", "content": "What is the weather in Berlin?"}),
        json!({"role": "assistant", "content": "", "tool_calls": [{"id": "call_example", "type": "function",
               "function": {"name": "get_weather", "arguments": "{\"city\": \"Berlin\"}"}}]}),
    ]
}

/// Runs the loop: two tool rounds, then the answer. Round 1 asks for Paris; round 2
/// carries round 1's call and its result, then (after the example again, which this
/// model needs right before a question to answer it with a call) asks for Rome; the
/// last turn sends round 2's result back for the answer (`tool_choice: "none"`). The
/// rounds force a call (`"required"`). `tool` answers each call.
pub async fn run(
    client: &dyn InferenceClient,
    tool: impl Fn(&str) -> String,
) -> Result<Run, Error> {
    let system = json!({"role": "system", "content": "You answer every question with exactly one tool call and no other text."});
    let mut run = Run {
        tool_results: Vec::new(),
        answer: String::new(),
        requests: Vec::new(),
    };
    let mut first = vec![system.clone()];
    first.extend(example());
    first.push(json!({"role": "user", "content": "What is the weather in Paris?"}));
    let (call, result) = tool_round(client, &first, &tool, &mut run).await?;

    let mut second = vec![
        system,
        json!({"role": "user", "content": "What is the weather in Paris?"}),
        json!({"role": "assistant", "content": "", "tool_calls": [call.clone()]}),
        json!({"role": "tool", "tool_call_id": call["id"], "content": result}),
    ];
    second.extend(example());
    second.push(json!({"role": "user", "content": "What is the weather in Rome?"}));
    let (call, result) = tool_round(client, &second, &tool, &mut run).await?;

    let mut last = second;
    last.push(json!({"role": "assistant", "content": "", "tool_calls": [call.clone()]}));
    last.push(json!({"role": "tool", "tool_call_id": call["id"], "content": result}));
    let request = chat(&last, "none", 48);
    run.requests.push(request.clone());
    let body = client.send(request).await?.into_json()?;
    run.answer = body["choices"][0]["message"]["content"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    Ok(run)
}

/// One round: the model's call for `messages`, and what `tool` answered it.
async fn tool_round(
    client: &dyn InferenceClient,
    messages: &[Value],
    tool: &impl Fn(&str) -> String,
    run: &mut Run,
) -> Result<(Value, String), Error> {
    let request = chat(messages, "required", 48);
    run.requests.push(request.clone());
    let body = client.send(request).await?.into_json()?;
    let call = body["choices"][0]["message"]["tool_calls"][0].clone();
    if !call.is_object() {
        return Err(Error::Config(format!(
            "the model answered without a tool call: {body}"
        )));
    }
    let arguments: Value =
        serde_json::from_str(call["function"]["arguments"].as_str().unwrap_or("{}"))
            .unwrap_or_default();
    let result = tool(arguments["city"].as_str().unwrap_or_default());
    run.tool_results.push(result.clone());
    Ok((call, result))
}
