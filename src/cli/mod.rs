//! Command-line arguments. Parsing and validation only: no work is done here.

use clap::{ArgAction, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// A fast, reproducible local Kubernetes dev loop: kind nodes that pull through local registry
/// caches, driven by editable Rhai scripts.
#[derive(Debug, Parser)]
#[command(name = "brrt", version, propagate_version = true, max_term_width = 100)]
pub struct Cli {
    /// More output (-v debug, -vv trace). BRRT_LOG overrides, e.g. BRRT_LOG=debug.
    #[arg(short, long, action = ArgAction::Count, global = true)]
    pub verbose: u8,
    /// Less output (-q warnings and errors only, -qq errors only).
    #[arg(short, long, action = ArgAction::Count, global = true, conflicts_with = "verbose")]
    pub quiet: u8,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a flow script, once or (with --watch) on every change.
    Run(RunArgs),
    /// Compile scripts without running them; report syntax errors and unknown functions.
    Check {
        /// Scripts to check: flow names (dev-up) or paths.
        #[arg(required = true, value_name = "SCRIPT")]
        scripts: Vec<PathBuf>,
    },
    /// Set a repository up for brrt: a brrt.toml filled with what is found, and optionally the
    /// flows, just recipes and the Tilt extension. Never overwrites a file.
    Init(InitArgs),
    /// List the flows and their modules: the project's own (scripts/) and brrt's built-in ones,
    /// and which local copies differ from this version's built-ins.
    Flows,
    /// Print a value of brrt.toml, checked and with brrt's defaults filled in: `brrt config
    /// registry.port` prints the push registry's port. For Tiltfiles, justfiles and shell
    /// scripts, so that a setting lives in brrt.toml alone.
    Config(ConfigArgs),
    /// List every function a script can call, with its signature and doc.
    Api {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Print a shell completion script.
    Completions {
        #[arg(value_enum)]
        shell: Shell,
    },
}

#[derive(Debug, clap::Args)]
pub struct InitArgs {
    /// The repository to set up.
    #[arg(value_name = "DIR", default_value = ".")]
    pub dir: PathBuf,
    /// Copy the built-in flows into scripts/ for editing (they are used from brrt otherwise).
    #[arg(long)]
    pub flows: bool,
    /// Add brrt's recipes to the justfile (skipping names it uses), or create one.
    #[arg(long)]
    pub just: bool,
    /// Write the Tilt extension to plugins/tilt/brrt/ and load it from the Tiltfile.
    #[arg(long)]
    pub tilt: bool,
    /// Write this version's built-ins beside local copies that differ, as *.new.
    #[arg(long)]
    pub upgrade: bool,
}

#[derive(Debug, clap::Args)]
pub struct ConfigArgs {
    /// A dotted key: registry.port, cluster.name, cache.upstreams, or a table such as registry.
    /// A value is printed as it is; a table or a list as JSON; an unset one as nothing. Without
    /// a key, the whole config as JSON.
    #[arg(value_name = "KEY")]
    pub key: Option<String>,
    /// The config to read.
    #[arg(long, value_name = "PATH", default_value = "brrt.toml")]
    pub config: PathBuf,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
}

/// What `--watch` does with a change that arrives while a run is still going on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum OnBusyArg {
    /// Let the run finish, then run once more with the latest files.
    #[default]
    Queue,
    /// Stop the run at its next operation, then start again with the latest files.
    Restart,
}

#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// The flow: a name (dev-up runs the project's scripts/dev-up.rhai, else brrt's built-in
    /// one) or a script's path.
    #[arg(value_name = "FLOW")]
    pub script: PathBuf,
    /// Print every change as "would …" and make none; reads still happen.
    #[arg(long)]
    pub dry_run: bool,
    /// A value for the script's SET map (true/false and whole numbers are typed). Repeatable.
    #[arg(long = "set", value_name = "KEY=VALUE", value_parser = parse_set)]
    pub set: Vec<(String, String)>,
    /// Keep running: re-apply whenever the script, an import or a loaded config changes.
    #[arg(long, short = 'w')]
    pub watch: bool,
    /// With --watch: what a change does while a run is going on.
    #[arg(long, value_enum, default_value_t = OnBusyArg::Queue, requires = "watch")]
    pub on_busy: OnBusyArg,
    /// Fail at once, instead of waiting, when another brrt is changing the same containers.
    #[arg(long)]
    pub no_wait: bool,
    /// Stop a script after this many operations, a runaway loop [default: 50000000].
    #[arg(long, value_name = "N")]
    pub max_operations: Option<u64>,
    /// The most bytes one string in a script may hold [default: 16 MiB].
    #[arg(long, value_name = "BYTES")]
    pub max_string_size: Option<usize>,
    /// The most items one array in a script may hold [default: 1000000].
    #[arg(long, value_name = "N")]
    pub max_array_size: Option<usize>,
    /// The most entries one map in a script may hold [default: 100000].
    #[arg(long, value_name = "N")]
    pub max_map_size: Option<usize>,
    #[command(flatten)]
    pub plugin: PluginArgs,
    /// Arguments for the script, seen as ARGS (after `--`).
    #[arg(last = true, value_name = "ARGS")]
    pub args: Vec<String>,
}

/// Limits of the WASM plugins a script imports.
#[derive(Debug, Clone, Copy, clap::Args)]
pub struct PluginArgs {
    /// Fuel for each call of a WASM plugin (about one unit per instruction); a plugin stuck in a
    /// loop stops there [default: 1000000000].
    #[arg(
        long = "plugin-fuel",
        env = "BRRT_PLUGIN_FUEL",
        value_parser = clap::value_parser!(u64).range(1..),
        value_name = "UNITS"
    )]
    pub fuel: Option<u64>,
    /// Memory cap of each WASM plugin, in MiB (at most 4096, all a 32-bit plugin can address)
    /// [default: 64].
    #[arg(
        long = "plugin-memory",
        env = "BRRT_PLUGIN_MEMORY",
        value_parser = clap::value_parser!(u32).range(1..=4096),
        value_name = "MIB"
    )]
    pub memory_mib: Option<u32>,
}

/// Parses `KEY=VALUE`, where KEY is a plain name.
fn parse_set(text: &str) -> Result<(String, String), String> {
    let Some((key, value)) = text.split_once('=') else {
        return Err(format!(
            "expected KEY=VALUE, e.g. --set purge=true (got `{text}`)"
        ));
    };
    let valid = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.')
        && !key.starts_with(|c: char| c.is_ascii_digit());
    if !valid {
        return Err(format!(
            "`{key}` is not a valid key: use letters, digits, `_`, `-` or `.`, e.g. --set config=brrt.toml"
        ));
    }
    Ok((key.to_string(), value.to_string()))
}

impl Cli {
    /// The default log filter for the chosen verbosity. The kube client logs every failed
    /// request as an error of its own; brrt reports those itself, in one line that says what to
    /// do (or, for a probe, as a warning of the flow), so the client's lines show only at -vv.
    pub fn log_filter(&self) -> &'static str {
        match (self.quiet, self.verbose) {
            (0, 0) => "warn,brrt=info,script=info,kube_client=off",
            (1, _) => "warn,kube_client=off",
            (_, 0) => "error,kube_client=off",
            (_, 1) => "warn,brrt=debug,script=debug,kube_client=off",
            _ => "info,brrt=trace,script=trace",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_needs_key_and_value() {
        assert_eq!(parse_set("purge=true"), Ok(("purge".into(), "true".into())));
        assert_eq!(parse_set("config=a=b"), Ok(("config".into(), "a=b".into())));
        assert!(parse_set("purge").unwrap_err().contains("KEY=VALUE"));
        assert!(parse_set("=x").is_err());
        assert!(parse_set("a b=1").is_err());
    }
}
