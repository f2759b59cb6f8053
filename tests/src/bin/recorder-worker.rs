//! A process that records, for the tests that need several processes or one that
//! dies: `tests/processes.rs` starts it, many at once, under a file-size limit, or
//! kills it in the middle of a write.
//!
//! ```text
//! recorder-worker stress <dir> <worker> <tasks>      record overlapping requests
//! recorder-worker record-once <dir> <padding> <gen>  record request 1 once
//! recorder-worker rewrite-forever <dir> <padding>    re-record request 1 until killed
//! ```

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use futures::StreamExt;
use recording_core::{Error, InferenceClient, Mode, Recording};
use tests::synthetic::{STRESS_KEYS, Synthetic, request};

fn usage() -> ExitCode {
    eprintln!("usage: recorder-worker stress|record-once|rewrite-forever <dir> <args...>");
    ExitCode::from(2)
}

fn number(arg: Option<&String>) -> Option<usize> {
    arg.and_then(|text| text.parse().ok())
}

async fn consume(client: &dyn InferenceClient, n: usize) -> Result<(), Error> {
    let response = client.send(request(n)).await?;
    if n.is_multiple_of(3) {
        let mut chunks = response.into_stream()?;
        while let Some(chunk) = chunks.next().await {
            chunk?;
        }
    } else {
        response.into_json()?;
    }
    Ok(())
}

async fn stress(dir: PathBuf, worker: usize, tasks: usize) -> ExitCode {
    let handles: Vec<_> = (0..tasks)
        .map(|task| {
            let client = Recording::new(Synthetic::new(256))
                .mode(Mode::Record)
                .dir(dir.clone());
            tokio::spawn(async move { consume(&client, (worker * 7 + task) % STRESS_KEYS).await })
        })
        .collect();
    let mut failed = false;
    for handle in handles {
        match handle.await {
            Ok(Ok(())) => {}
            Ok(Err(err)) => {
                eprintln!("worker {worker}: {err}");
                failed = true;
            }
            Err(err) => {
                eprintln!("worker {worker}: task failed: {err}");
                failed = true;
            }
        }
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

async fn record_once(dir: PathBuf, padding: usize, generation: u64) -> ExitCode {
    let client = Recording::new(Synthetic::new(padding).generation(generation))
        .mode(Mode::Record)
        .dir(dir);
    match consume(&client, 1).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            let carried = match &err {
                Error::Storage {
                    fetched: Some(body),
                    ..
                } => body.to_string().len(),
                _ => 0,
            };
            println!("not recorded: {err}; the error carries {carried} bytes of the response");
            ExitCode::from(if carried > 0 { 3 } else { 1 })
        }
    }
}

async fn rewrite_forever(dir: PathBuf, padding: usize) -> ExitCode {
    for generation in 0.. {
        let client = Recording::new(Synthetic::new(padding).generation(generation))
            .mode(Mode::Record)
            .dir(dir.clone());
        if let Err(err) = consume(&client, 1).await {
            eprintln!("{err}");
            return ExitCode::FAILURE;
        }
        if generation == 0 {
            // The parent waits for this line before it starts watching for a write.
            let mut out = std::io::stdout();
            if writeln!(out, "recorded")
                .and_then(|()| out.flush())
                .is_err()
            {
                return ExitCode::FAILURE;
            }
        }
    }
    ExitCode::SUCCESS
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(command), Some(dir)) = (args.first(), args.get(1)) else {
        return usage();
    };
    let dir = PathBuf::from(dir);
    let runtime = match tokio::runtime::Builder::new_multi_thread().build() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("cannot start a runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async {
        match (command.as_str(), number(args.get(2)), number(args.get(3))) {
            ("stress", Some(worker), Some(tasks)) => stress(dir, worker, tasks).await,
            ("record-once", Some(padding), Some(generation)) => {
                record_once(dir, padding, generation as u64).await
            }
            ("rewrite-forever", Some(padding), _) => rewrite_forever(dir, padding).await,
            _ => usage(),
        }
    })
}
