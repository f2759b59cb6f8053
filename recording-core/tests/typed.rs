//! Typed requests (`InferenceClient::send_typed`, what the provider crates' typed APIs
//! call): a recorder keys them from the typed value when it replays, and that key is
//! the one the request's `Value` gets, whatever the body holds and however the recorder
//! is set.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use recording_core::fault::FaultPlan;
use recording_core::{
    ApiRequest, ApiResponse, Error, InferenceClient, Mode, NormalizeContext, Normalizer, Recording,
    TypedRequest,
};
use serde::Serialize;
use serde_json::{Value, json};

mod support;

use support::*;

const SECRET: &str = "sk-typed-secret-0123456789";

/// The scripted server with a key and a provider's volatile fields, one of them nested.
#[derive(Clone)]
struct Keyed(Scripted);

#[derive(Debug)]
struct Volatile;

impl Normalizer for Volatile {
    fn normalize(&self, ctx: &NormalizeContext<'_>, body: &mut Value) -> bool {
        TestRules.normalize(ctx, body)
    }
    fn volatile_request_fields(&self) -> &[&'static str] {
        &["/user", "/metadata/user_id"]
    }
}

#[async_trait]
impl InferenceClient for Keyed {
    fn provider(&self) -> &str {
        "test"
    }
    fn normalizer(&self) -> Arc<dyn Normalizer> {
        Arc::new(Volatile)
    }
    fn secrets(&self) -> Vec<String> {
        vec![SECRET.into()]
    }
    async fn send(&self, request: ApiRequest) -> Result<ApiResponse, Error> {
        self.0.send(request).await
    }
}

#[derive(Serialize, Clone)]
struct Chat {
    model: &'static str,
    messages: Vec<Message>,
    temperature: f32,
    #[serde(skip_serializing_if = "Option::is_none")]
    user: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    metadata: Option<BTreeMap<String, String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    api_key: Option<String>,
    #[serde(flatten)]
    extra: BTreeMap<String, Value>,
}

#[derive(Serialize, Clone)]
struct Message {
    role: &'static str,
    content: String,
}

fn typed(content: &str) -> Chat {
    Chat {
        model: "tiny",
        messages: vec![Message {
            role: "user",
            content: content.into(),
        }],
        temperature: 0.7,
        user: None,
        metadata: None,
        api_key: None,
        extra: BTreeMap::new(),
    }
}

const CHAT: &str = "/v1/chat/completions";

async fn typed_json(client: &dyn InferenceClient, body: &Chat) -> Result<Value, Error> {
    client
        .send_typed(TypedRequest::post(CHAT, body))
        .await?
        .into_json()
}

/// Bodies that key alike through both paths, each recorded through `send` of its value.
fn bodies() -> Vec<(&'static str, Chat)> {
    let mut with_user = typed("who am I?");
    with_user.user = Some("user-1".into());
    let mut with_metadata = typed("tagged");
    with_metadata.metadata = Some(BTreeMap::from([
        ("user_id".into(), "u-1".into()),
        ("tag".into(), "kept".into()),
    ]));
    let mut with_secret = typed(&format!("my key is {SECRET}, keep it"));
    with_secret.user = Some("user-1".into());
    let mut with_api_key = typed("gateway");
    with_api_key.api_key = Some("gw-key-that-is-long".into());
    let mut with_extra = typed("odd names \"quoted\"\n");
    with_extra.extra = BTreeMap::from([
        ("\u{ff61}".into(), json!(1)),
        ("\u{1f600}".into(), json!({"b": [0.5, null], "a": "é"})),
        ("model".into(), json!("overridden by flatten")),
    ]);
    vec![
        ("plain", typed("What is 2+2?")),
        ("volatile user", with_user),
        ("nested volatile field", with_metadata),
        ("the client's key in a prompt", with_secret),
        ("a redacted field", with_api_key),
        ("names out of UTF-8 order, a duplicate", with_extra),
    ]
}

#[tokio::test]
async fn a_typed_request_replays_the_recording_of_its_value() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Scripted::new(answer());
    let record = Recording::new(Keyed(server.clone()))
        .mode(Mode::Record)
        .dir(dir.path());
    let bodies = bodies();
    for (what, body) in &bodies {
        let request = TypedRequest::post(CHAT, body).to_request().expect(what);
        json_of(&record, request).await.expect(what);
    }
    assert_eq!(server.calls(), bodies.len());
    assert_eq!(recording_files(dir.path()).len(), bodies.len());

    let replay = Recording::new(Keyed(server.clone()))
        .mode(Mode::Replay)
        .dir(dir.path());
    for (what, body) in &bodies {
        let request = TypedRequest::post(CHAT, body).to_request().expect(what);
        let typed = typed_json(&replay, body).await;
        let by_value = json_of(&replay, request).await;
        match (typed, by_value) {
            (Ok(typed), Ok(by_value)) => assert_eq!(typed, by_value, "{what}"),
            other => panic!("{what}: {other:?}"),
        }
    }
    // A volatile field's value is not part of the key, on either path.
    let mut other_user = bodies[1].1.clone();
    other_user.user = Some("user-2".into());
    typed_json(&replay, &other_user).await.expect("user-2");
    assert_eq!(
        server.calls(),
        bodies.len(),
        "replay never calls the server"
    );

    // A changed prompt misses, and the miss names the request as `send` would.
    let err = typed_json(&replay, &typed("What is 3+3?"))
        .await
        .expect_err("a miss");
    let Error::ReplayMiss(miss) = &err else {
        panic!("expected a replay miss, got {err:?}");
    };
    let asked = TypedRequest::post(CHAT, &typed("What is 3+3?"))
        .to_request()
        .expect("value");
    assert_eq!(miss.hash, replay.hash_of(&asked));
    assert!(err.to_string().contains("What is 2+2?"), "{err}");
    assert_eq!(
        server.calls(),
        bodies.len(),
        "a miss never calls the server"
    );
}

#[tokio::test]
async fn typed_requests_record_and_keep_their_scope_sequence_and_faults() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Scripted::new(answer());
    let body = typed("roll a die");

    // Recorded through `send_typed` itself, in a scope, twice in sequence mode.
    let record = Recording::new(Keyed(server.clone()))
        .mode(Mode::Record)
        .dir(dir.path())
        .scope("dice")
        .in_sequence();
    for _ in 0..2 {
        typed_json(&record, &body).await.expect("recorded");
    }
    assert_eq!(server.calls(), 2);
    assert_eq!(recording_files(dir.path()).len(), 2);

    let replay = || {
        Recording::new(Keyed(server.clone()))
            .mode(Mode::Replay)
            .dir(dir.path())
            .scope("dice")
    };
    let in_order = replay().in_sequence();
    typed_json(&in_order, &body).await.expect("call 1");
    typed_json(&in_order, &body).await.expect("call 2");
    let err = typed_json(&in_order, &body).await.expect_err("call 3");
    assert!(err.to_string().contains("this is call 3"), "{err}");

    // Another scope, or none, is another key.
    let unscoped = Recording::new(Keyed(server.clone()))
        .mode(Mode::Replay)
        .dir(dir.path());
    assert!(matches!(
        typed_json(&unscoped, &body).await,
        Err(Error::ReplayMiss(_))
    ));

    // A fault plan still chooses its call.
    let plan: FaultPlan = "status=429;call=1".parse().expect("plan");
    let faulty = replay().faults(plan);
    assert!(matches!(
        typed_json(&faulty, &body).await,
        Err(Error::Api { status: 429, .. })
    ));
    typed_json(&faulty, &body).await.expect("call 2 replays");
    assert_eq!(server.calls(), 2, "replay never calls the server");
}
