//! The requests the server has replayed, by their bytes: a client's suite sends the
//! same requests on every run, and the same bytes key the same way (the key depends
//! only on the request and the engine's settings, which a running server never
//! changes), so a request seen before is replayed without parsing or keying it again.
//! Bounded in bytes: when full, it starts over.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use recording_core::key::Keyed;

/// Requests by their bytes: provider, method, endpoint, scope and body.
pub(crate) struct KnownRequests {
    budget: usize,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    keys: HashMap<Box<[u8]>, Arc<Keyed>, foldhash::fast::RandomState>,
    weight: usize,
}

/// What identifies a request's bytes, in one buffer.
pub(crate) fn identity(
    provider: &str,
    method: &str,
    endpoint: &str,
    scope: Option<&str>,
    body: &[u8],
) -> Vec<u8> {
    let mut id = Vec::with_capacity(
        provider.len() + method.len() + endpoint.len() + scope.map_or(0, str::len) + body.len() + 5,
    );
    for part in [provider, method, endpoint] {
        id.extend_from_slice(part.as_bytes());
        id.push(0);
    }
    // No scope header and an empty one key apart (`""` is a scope), so they are told
    // apart here too.
    match scope {
        None => id.push(0),
        Some(scope) => {
            id.push(1);
            id.extend_from_slice(scope.as_bytes());
            id.push(0);
        }
    }
    id.extend_from_slice(body);
    id
}

impl KnownRequests {
    /// Room for about `budget` bytes of requests.
    pub(crate) fn new(budget: usize) -> KnownRequests {
        KnownRequests {
            budget,
            state: Mutex::default(),
        }
    }

    /// How the request with these bytes was keyed, if it was seen.
    pub(crate) fn get(&self, id: &[u8]) -> Option<Arc<Keyed>> {
        let state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.keys.get(id).cloned()
    }

    /// Remembers how the request with these bytes was keyed.
    pub(crate) fn put(&self, id: Vec<u8>, keyed: Keyed) {
        let weight = id.len() + keyed.key().len() + 128;
        if weight > self.budget / 4 {
            return;
        }
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if state.weight + weight > self.budget {
            state.keys.clear();
            state.weight = 0;
        }
        if state
            .keys
            .insert(id.into_boxed_slice(), Arc::new(keyed))
            .is_none()
        {
            state.weight += weight;
        }
    }
}
