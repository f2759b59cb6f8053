//! `client_fn`: an [`InferenceClient`] from a closure, as tower's `service_fn` makes a
//! `Service` from one. For tests of code on the trait, and for fakes at the boundary.

use std::fmt;
use std::future::Future;
use std::sync::Arc;

use async_trait::async_trait;

use crate::api::client::{ApiRequest, ApiResponse, InferenceClient};
use crate::api::error::Error;
use crate::normalizer::{NoNormalization, Normalizer};

/// A client that answers every request with `send(request)`, for provider `provider`
/// and without normalization rules (see [`ClientFn::normalizer`]).
///
/// ```
/// use recording_core::{ApiRequest, ApiResponse, Error, InferenceClient, client_fn};
///
/// let echo = client_fn("test", |request: ApiRequest| async move {
///     Ok::<_, Error>(ApiResponse::json(request.body))
/// });
/// assert_eq!(echo.provider(), "test");
/// let never = client_fn("openai", |_| async {
///     Err::<ApiResponse, _>(Error::Transport("replay never calls it".into()))
/// });
/// # let _ = never;
/// ```
pub fn client_fn<F, Fut>(provider: &'static str, send: F) -> ClientFn<F>
where
    F: Fn(ApiRequest) -> Fut + Send + Sync,
    Fut: Future<Output = Result<ApiResponse, Error>> + Send,
{
    ClientFn {
        provider,
        normalizer: Arc::new(NoNormalization),
        send,
    }
}

/// The client [`client_fn`] makes.
pub struct ClientFn<F> {
    provider: &'static str,
    normalizer: Arc<dyn Normalizer>,
    send: F,
}

impl<F> ClientFn<F> {
    /// Gives it `rules` as its provider's normalization rules.
    pub fn normalizer(mut self, rules: impl Normalizer + 'static) -> ClientFn<F> {
        self.normalizer = Arc::new(rules);
        self
    }
}

impl<F> fmt::Debug for ClientFn<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientFn")
            .field("provider", &self.provider)
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl<F, Fut> InferenceClient for ClientFn<F>
where
    F: Fn(ApiRequest) -> Fut + Send + Sync,
    Fut: Future<Output = Result<ApiResponse, Error>> + Send,
{
    fn provider(&self) -> &str {
        self.provider
    }

    fn normalizer(&self) -> Arc<dyn Normalizer> {
        self.normalizer.clone()
    }

    async fn send(&self, request: ApiRequest) -> Result<ApiResponse, Error> {
        (self.send)(request).await
    }
}
