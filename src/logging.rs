//! Logging: brrt's own messages and the scripts' `log::*` and `debug` go to stderr through
//! `tracing`. A script's `print` is data and goes to stdout (see `script::engine`).

use std::fmt;
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::EnvFilter;

/// Plain lines for humans: no timestamp, a prefix only for warnings, errors and debug output.
struct PlainLines;

impl<S, N> FormatEvent<S, N> for PlainLines
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut w: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let meta = event.metadata();
        match *meta.level() {
            Level::ERROR => write!(w, "error: ")?,
            Level::WARN => write!(w, "warning: ")?,
            Level::INFO => {}
            _ => write!(w, "[{}] ", meta.target())?,
        }
        ctx.field_format().format_fields(w.by_ref(), event)?;
        writeln!(w)
    }
}

/// Installs the logger. `BRRT_LOG` (EnvFilter syntax) overrides `default_filter`.
pub fn init(default_filter: &str) {
    let filter = std::env::var("BRRT_LOG")
        .ok()
        .and_then(|f| EnvFilter::try_new(f).ok())
        .unwrap_or_else(|| EnvFilter::new(default_filter));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // When stderr is a closed pipe (`brrt … 2>&1 | head`), say nothing and go on: the
        // default reports the failed write with `eprintln!`, which panics mid-run.
        .log_internal_errors(false)
        .event_format(PlainLines)
        .try_init();
}

/// Writes a diagnostic to stderr. A closed stderr (`| head`) must not stop a run halfway, so a
/// failed write is ignored, unlike `eprintln!`, which panics.
pub fn report(text: impl fmt::Display) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr().lock(), "{text}");
}
