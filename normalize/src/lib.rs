//! The `normalize` tool: filled in by its own issue.
