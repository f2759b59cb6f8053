//! Ollama provider: filled in by its own issue.
