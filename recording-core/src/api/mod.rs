//! What a client and a test author see, and nothing that touches a disk: the request
//! and the response, the [`InferenceClient`](client::InferenceClient) trait, the one
//! error type, and the replay-miss report as a plain value (the search for the
//! closest recording that fills it in is the recorder's, in `closest`).

pub(crate) mod client;
pub(crate) mod client_fn;
pub(crate) mod error;
pub(crate) mod miss;
pub(crate) mod texts;
pub(crate) mod typed_body;
pub(crate) mod typed_request;
