//! From parsed arguments to an exit code, in one place.

use crate::cli::{Cli, Command, RunArgs, Shell};
use crate::logging;
use crate::ops::Mode;
use crate::script::{engine, plugin_module, runner, Cancel, Failure, RunRequest, ScriptContext};
use crate::watch::{self, WatchRequest};
use clap::{CommandFactory, Parser};
use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;

/// Exit code of a run stopped by Ctrl-C or SIGTERM (128 + SIGINT).
const EXIT_INTERRUPTED: u8 = 130;

pub fn run() -> ExitCode {
    let cli = Cli::parse();
    logging::init(cli.log_filter());
    match cli.command {
        Command::Completions { shell } => {
            let shell = match shell {
                Shell::Bash => clap_complete::Shell::Bash,
                Shell::Zsh => clap_complete::Shell::Zsh,
                Shell::Fish => clap_complete::Shell::Fish,
            };
            clap_complete::generate(shell, &mut Cli::command(), "brrt", &mut std::io::stdout());
            ExitCode::SUCCESS
        }
        Command::Api { json } => with_runtime(move |ctx| api(&ctx, json)),
        Command::Check { scripts } => with_runtime(move |ctx| {
            let mut problems = 0;
            for script in &scripts {
                let found = runner::check(&ctx, script);
                for d in &found {
                    eprintln!("{d}\n");
                }
                if found.is_empty() {
                    tracing::info!("{}: ok", script.display());
                }
                problems += found.len();
            }
            if problems == 0 {
                ExitCode::SUCCESS
            } else {
                tracing::error!("{problems} problem(s) found");
                ExitCode::FAILURE
            }
        }),
        Command::Run(args) => run_script(args),
    }
}

fn project_dir() -> std::path::PathBuf {
    std::env::current_dir().unwrap_or_else(|_| ".".into())
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("cannot start the async runtime")
}

/// Runs `f` on a blocking thread with a context, for commands that need no signals.
fn with_runtime(f: impl FnOnce(Arc<ScriptContext>) -> ExitCode + Send + 'static) -> ExitCode {
    let rt = runtime();
    let ctx = ScriptContext::new(
        rt.handle().clone(),
        Mode::default(),
        project_dir(),
        Cancel::default(),
    );
    rt.block_on(async move {
        tokio::task::spawn_blocking(move || f(ctx))
            .await
            .unwrap_or(ExitCode::FAILURE)
    })
}

fn api(ctx: &Arc<ScriptContext>, json: bool) -> ExitCode {
    let built = engine::build(ctx, engine::DEFAULT_MAX_OPERATIONS);
    let (plugin_docs, broken_plugins) = plugin_module::docs(ctx);
    let mut out = std::io::stdout().lock();
    let written = if json {
        serde_json::to_value(&built.docs)
            .and_then(|builtin| {
                let mut all = builtin.as_array().cloned().unwrap_or_default();
                all.extend(
                    serde_json::to_value(&plugin_docs)?
                        .as_array()
                        .cloned()
                        .unwrap_or_default(),
                );
                serde_json::to_writer_pretty(&mut out, &all)
            })
            .map_err(std::io::Error::other)
            .and_then(|()| writeln!(out))
    } else {
        built
            .docs
            .iter()
            .try_for_each(|d| writeln!(out, "{}\n    {}\n", d.signature(), d.doc))
            .and_then(|()| {
                plugin_docs.iter().try_for_each(|d| {
                    writeln!(out, "{}\n    {} ({})\n", d.signature(), d.doc, d.plugin)
                })
            })
    };
    if written.is_err() {
        return ExitCode::FAILURE;
    }
    // A plugin that does not load is named, after everything that could be listed.
    for problem in &broken_plugins {
        tracing::error!("{problem}");
    }
    if broken_plugins.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// Stops `cancel` on Ctrl-C or SIGTERM.
pub(crate) fn cancel_on_signals(cancel: Cancel) {
    tokio::spawn(async move {
        let ctrl_c = tokio::signal::ctrl_c();
        #[cfg(unix)]
        {
            let mut term =
                match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                    Ok(t) => t,
                    Err(_) => {
                        let _ = ctrl_c.await;
                        cancel.cancel();
                        return;
                    }
                };
            tokio::select! {
                _ = ctrl_c => {}
                _ = term.recv() => {}
            }
        }
        #[cfg(not(unix))]
        let _ = ctrl_c.await;
        cancel.cancel();
    });
}

fn run_script(args: RunArgs) -> ExitCode {
    let request = RunRequest {
        script: args.script.clone(),
        args: args.args.clone(),
        set: args.set.clone(),
        max_operations: args.max_operations,
        plugin_limits: args.plugin.limits(),
    };
    let mode = Mode {
        dry_run: args.dry_run,
    };
    let rt = runtime();
    let cancel = Cancel::default();
    let handle = rt.handle().clone();
    if args.watch {
        let req = WatchRequest {
            run: request,
            mode,
            on_busy: args.on_busy,
            project_dir: project_dir(),
        };
        return rt.block_on(async move {
            cancel_on_signals(cancel.clone());
            watch::watch(req, cancel).await
        });
    }
    rt.block_on(async move {
        cancel_on_signals(cancel.clone());
        let ctx = ScriptContext::new(handle, mode, project_dir(), cancel);
        let ctx2 = ctx.clone();
        let result = tokio::task::spawn_blocking(move || runner::run(&ctx2, &request))
            .await
            .unwrap_or(Err(Failure::Interrupted));
        if mode.dry_run && result.is_ok() {
            let n = ctx.changes().len();
            tracing::info!("dry run: {n} change(s) would be made; none was");
        }
        exit_code(result)
    })
}

/// Prints a failure and maps it to the exit code.
pub(crate) fn exit_code(result: Result<(), Failure>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Script(d)) => {
            eprintln!("{d}");
            ExitCode::FAILURE
        }
        Err(Failure::DockerUnavailable(line)) => {
            eprintln!("error: {line}");
            ExitCode::FAILURE
        }
        Err(Failure::Interrupted) => {
            eprintln!("interrupted");
            ExitCode::from(EXIT_INTERRUPTED)
        }
    }
}
