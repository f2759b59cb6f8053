//! OpenAI-compatible provider: filled in by its own issue.
