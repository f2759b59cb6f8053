//! The workspace integration tests and the committed recordings under `recordings/`.
