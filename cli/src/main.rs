//! `inference-recorder`: the user-facing command. It parses arguments and calls the
//! crates that do the work; each command works in any repository.

mod import;
mod key;
mod key_flags;
mod log;
mod rekey;
mod review;
mod serve;
mod show;
mod suite;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "inference-recorder",
    version,
    about = "Record and replay LLM inference APIs"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve recordings over HTTP: OpenAI-compatible on /v1/*, Ollama on /api/*,
    /// Anthropic on /anthropic/v1/*.
    ///
    /// The first line printed is `listening on URL openai=URL/v1 ollama=URL
    /// anthropic=URL/anthropic ...`. One
    /// line per request follows on stderr (method, path, key prefix,
    /// hit/miss/recorded). SIGINT or SIGTERM stops it after in-flight requests finish.
    Serve(Box<serve::Serve>),
    /// List the recordings no test used in the run since `unused --reset`; exit 1 when
    /// any.
    ///
    /// The run is every test process noted since the reset: `cargo test`, `cargo
    /// nextest run` (its shares merged with --used-from), a client suite through `serve
    /// --track`. A filtered run anywhere since the reset makes it report nothing.
    Unused(suite::Unused),
    /// Delete the recordings no test used in the run since `unused --reset`.
    Prune(suite::Prune),
    /// Show a recording: its request, status, the answer's text, tool calls.
    Show(show::Show),
    /// Compare the recordings with a git revision (default HEAD) or another directory,
    /// as a reviewer reads them: answers as word diffs, tool calls, stop reasons.
    ///
    /// Files are paired by key: changed (same key, other content), rekeyed (a changed
    /// request: the same provider, endpoint and scope, the closest request), added,
    /// removed; unchanged ones only counted (listed when only their formatting
    /// differs). Exit 0 when nothing changed but formatting, 1 when anything else did,
    /// 2 on error.
    Diff(review::Diff),
    /// List the recordings whose last change in git is older than an age, for a
    /// scheduled job that re-verifies them; exit 1 when any.
    Stale(review::Stale),
    /// Rename recordings to the keys their requests have under the suite's current
    /// rules (volatile fields and patterns, equivalence), atomically.
    ///
    /// How a suite adopts a new key rule without re-recording. The ids an answer was
    /// normalized with follow its new key, in its file and in the later turns that send
    /// them back. Two files that would share a key are a conflict, reported and left
    /// alone. Exit 0 when every file is named by its key, 1 when some are left alone.
    Rekey(rekey::Rekey),
    /// Print the key this project gives a request (method, endpoint, body, scope).
    Key(key::Key),
    /// Convert recordings of another recorder into this project's format and keys.
    Import(import::Import),
    /// Re-apply the providers' normalization rules to recordings on disk.
    Normalize(NormalizeArgs),
}

/// The arguments of `normalize`, as the `normalize` binary takes them.
#[derive(clap::Args)]
struct NormalizeArgs {
    /// Recordings directories, trees holding many, or single files [default:
    /// recordings/ or tests/recordings/ under the current directory]
    paths: Vec<PathBuf>,
    /// A recordings directory, as every command takes it (the same as naming it as a
    /// path)
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Report what would change; change nothing.
    #[arg(long, conflicts_with = "check")]
    dry_run: bool,
    /// Change nothing; exit 1 when any file would change (for CI).
    #[arg(long)]
    check: bool,
    /// Do not report files whose name is not the key of the request they hold (for a
    /// suite whose recorder keeps fields of its own out of the key).
    #[arg(long)]
    no_name_check: bool,
}

/// The recordings directory a command works on: `dir` if given, else
/// `TEST_RECORDING_DIR`, else `recordings/` or `tests/recordings/` under the current
/// directory.
pub(crate) fn recordings_dir(dir: Option<PathBuf>) -> Result<PathBuf, String> {
    if let Some(dir) = dir {
        return Ok(dir);
    }
    if let Some(dir) = std::env::var_os(recording_core::env::DIR_ENV).filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(dir));
    }
    let cwd = std::env::current_dir().map_err(|err| format!("no current directory: {err}"))?;
    Ok(recording_core::env::recordings_dir_in(&cwd))
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    log::init();
    let result = match cli.command {
        Command::Serve(args) => serve::serve(*args).await.map(|()| 0),
        Command::Unused(args) => suite::unused(args),
        Command::Prune(args) => suite::prune(args),
        Command::Show(args) => show::show(args),
        Command::Diff(args) => review::diff(args),
        Command::Stale(args) => review::stale(args),
        Command::Rekey(args) => rekey::rekey(args),
        Command::Key(args) => key::key(args),
        Command::Import(args) => import::import(args),
        Command::Normalize(mut args) => {
            args.paths.extend(args.dir);
            Ok(normalize::command(
                args.paths,
                args.dry_run,
                args.check,
                !args.no_name_check,
            ))
        }
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(message) => {
            eprintln!("inference-recorder: {message}");
            ExitCode::from(2)
        }
    }
}
