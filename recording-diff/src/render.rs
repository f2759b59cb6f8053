//! A [`Report`] as text for a terminal, Markdown for a pull request, or JSON for
//! other tools.

use std::fmt::Write;

use serde_json::Value;

use crate::words::word_diff;
use crate::{Change, FileDiff, Report, Status};

/// How many digits of a key the text names a recording by (as `serve` logs it).
const SHORT_KEY: usize = 12;
/// The longest a value is shown in a request field's change.
const MAX_VALUE_CHARS: usize = 200;
/// Where the details' values start: after two spaces and the longest label.
const LABEL_WIDTH: usize = 12;

/// The report for a terminal: one line per recording, its changes indented below,
/// then the summary.
pub fn text(report: &Report) -> String {
    let mut out = String::new();
    for file in &report.files {
        out += &headline(file);
        out += "\n";
        for line in details(file) {
            out += &format!("  {line}\n");
        }
    }
    out += &format!("Summary: {}\n", summary_line(report));
    out
}

/// The report as a pull request comment: the summary as a heading, then one
/// collapsible section per recording with its changes in a code block.
pub fn markdown(report: &Report) -> String {
    let mut out = format!(
        "### Recordings against `{}`: {}\n\n",
        report.against,
        counts(report)
    );
    if report.files.is_empty() {
        out += "No recording changed.\n";
    }
    for file in &report.files {
        let _ = writeln!(
            out,
            "<details><summary><b>{}</b> <code>{}</code> {} {} {}{}</summary>\n",
            file.status.as_str(),
            escape_html(&file.path),
            escape_html(&file.provider),
            file.method,
            escape_html(&file.endpoint),
            if file.formatting_only {
                " (formatting only)"
            } else {
                ""
            }
        );
        let mut lines = Vec::new();
        if let Some(old) = file
            .old_key
            .as_ref()
            .filter(|_| file.status == Status::Rekeyed)
        {
            lines.push(format!("{:<LABEL_WIDTH$}responses/{old}.json", "was:"));
        }
        lines.extend(facts(file));
        lines.extend(details(file));
        let block = lines.join("\n");
        let fence = "`".repeat(longest_backtick_run(&block).max(2) + 1);
        let _ = writeln!(out, "{fence}text\n{block}\n{fence}\n\n</details>\n");
    }
    out
}

/// The report as pretty JSON: `{"against", "files": [...], "summary": {...}}`.
pub fn json(report: &Report) -> String {
    let mut text = serde_json::to_string_pretty(report)
        .unwrap_or_else(|err| unreachable!("a report is plain data: {err}"));
    text.push('\n');
    text
}

/// `changed  1f49ab985beb  openai POST /v1/chat/completions  model  scope ...`.
fn headline(file: &FileDiff) -> String {
    let key = match (&file.old_key, &file.new_key) {
        (Some(old), Some(new)) if old != new => format!("{} → {}", short(old), short(new)),
        _ => short(&file.key).to_owned(),
    };
    let mut line = format!(
        "{:<10}{key}  {} {} {}",
        file.status.as_str(),
        file.provider,
        file.method,
        file.endpoint
    );
    if !file.model.is_empty() {
        line += &format!("  {}", file.model);
    }
    if let Some(scope) = &file.scope {
        line += &format!("  scope {scope}");
    }
    if file.formatting_only {
        line += "  (formatting only)";
    }
    if matches!(file.status, Status::Added | Status::Removed)
        && let Some(asked) = &file.asked
    {
        line += &format!("  asked {:?}", clip(asked));
    }
    line
}

/// What the Markdown section states before the changes: model, scope, question.
fn facts(file: &FileDiff) -> Vec<String> {
    let mut lines = Vec::new();
    if !file.model.is_empty() {
        lines.push(labelled("model:", &file.model));
    }
    if let Some(scope) = &file.scope {
        lines.push(labelled("scope:", scope));
    }
    if let Some(asked) = &file.asked {
        lines.push(labelled("asked:", &format!("{:?}", clip(asked))));
    }
    lines
}

/// One line per change (a request field or a multi-line text takes several).
fn details(file: &FileDiff) -> Vec<String> {
    let mut lines = Vec::new();
    if file.status == Status::Rekeyed && file.changes.is_empty() {
        // `inference-recorder rekey` after a suite changed its key rules.
        lines.push(labelled(
            "same:",
            "the request and the answer as they were, under a new key (the key rules changed)",
        ));
    }
    for change in &file.changes {
        match change {
            Change::Request { fields, more } => {
                for field in fields {
                    let shown = match (&field.was, &field.now) {
                        (Some(Value::String(was)), Some(Value::String(now))) => word_diff(was, now),
                        (was, now) => format!("{} → {}", value(was), value(now)),
                    };
                    lines.push(labelled("request:", &format!("{}: {shown}", field.pointer)));
                }
                if *more > 0 {
                    lines.push(labelled("request:", &format!("(and {more} more fields)")));
                }
            }
            Change::Status { was, now } => lines.push(labelled("status:", &arrow(was, now))),
            Change::Streamed { was, now } => {
                let yes = |streamed: &bool| if *streamed { "yes" } else { "no" };
                lines.push(labelled("streamed:", &arrow(yes(was), yes(now))));
            }
            Change::Error { was, now } => {
                let shown = |error: &Option<String>| error.as_deref().map_or("(none)".into(), clip);
                lines.push(labelled("error:", &arrow(shown(was), shown(now))));
            }
            Change::Text { word_diff, .. } => lines.push(labelled("answer:", word_diff)),
            Change::ToolCalls { was, now } => {
                let calls = |calls: &[String]| {
                    if calls.is_empty() {
                        "(none)".to_owned()
                    } else {
                        calls.join("; ")
                    }
                };
                lines.push(labelled("tool calls:", &arrow(calls(was), calls(now))));
            }
            Change::StopReason { was, now } => {
                fn reason(reason: &Option<String>) -> &str {
                    reason.as_deref().unwrap_or("(none)")
                }
                lines.push(labelled("stopped:", &arrow(reason(was), reason(now))));
            }
            Change::Chunks { was, now } => lines.push(labelled("chunks:", &arrow(was, now))),
            Change::Usage { counts } => {
                let count = |count: Option<u64>| count.map_or("(none)".into(), |c| c.to_string());
                let shown: Vec<String> = counts
                    .iter()
                    .map(|c| format!("{} {}", c.name, arrow(count(c.was), count(c.now))))
                    .collect();
                lines.push(labelled("usage:", &shown.join(", ")));
            }
            Change::Other { paths, more } => {
                let mut shown = paths.join(", ");
                if *more > 0 {
                    shown += &format!(" (and {more} more)");
                }
                lines.push(labelled("other:", &shown));
            }
        }
    }
    lines
}

/// `label` padded, then `value`; the value's own further lines indented under it.
fn labelled(label: &str, value: &str) -> String {
    let indent = format!("\n{:LABEL_WIDTH$}", "");
    format!("{label:<LABEL_WIDTH$}{}", value.replace('\n', &indent))
}

fn arrow(was: impl std::fmt::Display, now: impl std::fmt::Display) -> String {
    format!("{was} → {now}")
}

fn value(value: &Option<Value>) -> String {
    value
        .as_ref()
        .map_or("(absent)".into(), |value| clip(&value.to_string()))
}

/// `text` cut to [`MAX_VALUE_CHARS`] characters.
fn clip(text: &str) -> String {
    match text.char_indices().nth(MAX_VALUE_CHARS) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_owned(),
    }
}

fn short(key: &str) -> &str {
    key.get(..SHORT_KEY).unwrap_or(key)
}

/// `1 changed, 1 rekeyed, 2 added, 0 removed, 24 unchanged (1 formatting only)`.
fn counts(report: &Report) -> String {
    let s = &report.summary;
    let mut line = format!(
        "{} changed, {} rekeyed, {} added, {} removed, {} unchanged",
        s.changed, s.rekeyed, s.added, s.removed, s.unchanged
    );
    if s.formatting_only > 0 {
        line += &format!(" ({} formatting only)", s.formatting_only);
    }
    line
}

fn summary_line(report: &Report) -> String {
    format!("{} against {}", counts(report), report.against)
}

fn escape_html(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn longest_backtick_run(text: &str) -> usize {
    text.split(|c| c != '`').map(str::len).max().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Summary;

    #[test]
    fn a_recording_moved_by_new_key_rules_says_nothing_else_changed() {
        let file = FileDiff {
            status: Status::Rekeyed,
            key: "b".repeat(64),
            old_key: Some("a".repeat(64)),
            new_key: Some("b".repeat(64)),
            provider: "ollama".into(),
            method: "POST".into(),
            endpoint: "/api/generate".into(),
            model: "m".into(),
            scope: None,
            path: format!("responses/{}.json", "b".repeat(64)),
            asked: None,
            formatting_only: false,
            changes: Vec::new(),
        };
        let report = Report {
            against: "HEAD".into(),
            files: vec![file],
            summary: Summary {
                rekeyed: 1,
                ..Summary::default()
            },
        };
        let text = text(&report);
        assert!(
            text.contains("rekeyed   aaaaaaaaaaaa → bbbbbbbbbbbb  ollama POST /api/generate  m\n  same:       the request and the answer as they were"),
            "{text}"
        );
    }
}
