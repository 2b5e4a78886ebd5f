//! From parsed arguments to an exit code, in one place.

use crate::cli::{Cli, Command, ConfigArgs, InitArgs, OnBusyArg, RunArgs, Shell};
use crate::init::InitRequest;
use crate::logging;
use crate::ops::run_lock::LockWait;
use crate::ops::{self, Mode};
use crate::plugin;
use crate::script::engine::Limits;
use crate::script::sources::flows;
use crate::script::{
    engine, plugin_module, runner, Cancel, Failure, RunRequest, RunSettings, ScriptContext,
};
use crate::watch::{self, OnBusy, WatchRequest};
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
                    logging::report(format_args!("{d}\n"));
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
        Command::Init(args) => init(&args),
        Command::Config(args) => show_config(&args),
        Command::Flows => {
            let table = flows::CatalogTable(flows::catalog(&project_dir()));
            let _ = write!(std::io::stdout().lock(), "{table}");
            ExitCode::SUCCESS
        }
        Command::Run(args) => run_script(args),
    }
}

/// `brrt init`: the report on stdout, an error on stderr.
fn init(args: &InitArgs) -> ExitCode {
    let request = InitRequest {
        dir: args.dir.clone(),
        flows: args.flows,
        just: args.just,
        tilt: args.tilt,
        upgrade: args.upgrade,
    };
    match runtime().block_on(crate::init::init(&request)) {
        Ok(report) => {
            let _ = write!(std::io::stdout().lock(), "{report}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            logging::report(format_args!("error: {e}"));
            ExitCode::FAILURE
        }
    }
}

/// `brrt config [KEY]`: the value on stdout, an error on stderr.
fn show_config(args: &ConfigArgs) -> ExitCode {
    let shown = args.config.display().to_string();
    let text = match std::fs::read_to_string(&args.config) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            logging::report(format_args!(
                "error: no config at {shown}: `brrt init` writes one, or pass --config PATH"
            ));
            return ExitCode::FAILURE;
        }
        Err(e) => {
            logging::report(format_args!("error: {shown}: cannot read: {e}"));
            return ExitCode::FAILURE;
        }
    };
    let config = match ops::brrt_config::parse(&shown, &text) {
        Ok(config) => config,
        Err(e) => {
            logging::report(e);
            return ExitCode::FAILURE;
        }
    };
    let key = args.key.as_deref().unwrap_or_default();
    let value = match ops::brrt_config::lookup(&config, key) {
        Ok(value) => value,
        Err(why) => {
            logging::report(format_args!("error: {shown}: {why}"));
            return ExitCode::FAILURE;
        }
    };
    let text = match &value {
        serde_json::Value::Null => String::new(),
        serde_json::Value::String(s) => format!("{s}\n"),
        serde_json::Value::Bool(_) | serde_json::Value::Number(_) => format!("{value}\n"),
        _ => format!(
            "{}\n",
            serde_json::to_string_pretty(&value).unwrap_or_default()
        ),
    };
    let _ = write!(std::io::stdout().lock(), "{text}");
    ExitCode::SUCCESS
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
        RunSettings::default(),
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
    let built = engine::build(ctx, &Limits::default());
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

/// The script limits, the defaults where the command line says nothing.
fn limits(args: &RunArgs) -> Limits {
    let d = Limits::default();
    Limits {
        operations: args.max_operations.unwrap_or(d.operations),
        string_size: args.max_string_size.unwrap_or(d.string_size),
        array_size: args.max_array_size.unwrap_or(d.array_size),
        map_size: args.max_map_size.unwrap_or(d.map_size),
        call_depth: d.call_depth,
    }
}

/// The plugin limits, the defaults where the command line and environment say nothing.
fn plugin_limits(args: &RunArgs) -> plugin::Limits {
    let d = plugin::Limits::default();
    plugin::Limits {
        fuel: args.plugin.fuel.unwrap_or(d.fuel),
        memory_mib: args.plugin.memory_mib.unwrap_or(d.memory_mib),
    }
}

fn run_script(args: RunArgs) -> ExitCode {
    let request = RunRequest {
        script: args.script.clone(),
        args: args.args.clone(),
        set: args.set.clone(),
        limits: limits(&args),
        plugin_limits: plugin_limits(&args),
    };
    let mode = Mode {
        dry_run: args.dry_run,
    };
    let settings = RunSettings {
        mode,
        watching: false,
        lock_wait: if args.no_wait {
            LockWait::NoWait
        } else {
            LockWait::Wait
        },
    };
    let rt = runtime();
    let cancel = Cancel::default();
    let handle = rt.handle().clone();
    if args.watch {
        let req = WatchRequest {
            run: request,
            settings,
            on_busy: match args.on_busy {
                OnBusyArg::Queue => OnBusy::Queue,
                OnBusyArg::Restart => OnBusy::Restart,
            },
            project_dir: project_dir(),
        };
        return rt.block_on(async move {
            cancel_on_signals(cancel.clone());
            let code = watch::watch(req, cancel).await;
            ops::docker::switches_settled().await;
            ops::kind::creates_settled().await;
            code
        });
    }
    rt.block_on(async move {
        cancel_on_signals(cancel.clone());
        let ctx = ScriptContext::new(handle, settings, project_dir(), cancel);
        let ctx2 = ctx.clone();
        let result = tokio::task::spawn_blocking(move || runner::run(&ctx2, &request))
            .await
            .unwrap_or(Err(Failure::Interrupted));
        // A container switch an interrupt cut off goes on in its own task, and so does the
        // clean-up of a kind create it stopped: let them end.
        ops::docker::switches_settled().await;
        ops::kind::creates_settled().await;
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
            logging::report(d);
            ExitCode::FAILURE
        }
        Err(Failure::DockerUnavailable(line)) => {
            logging::report(format_args!("error: {line}"));
            ExitCode::FAILURE
        }
        Err(Failure::Interrupted) => {
            logging::report("interrupted");
            ExitCode::from(EXIT_INTERRUPTED)
        }
    }
}
