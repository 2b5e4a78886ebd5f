//! How `cache warm` shows its progress on stderr: one bar per image under a
//! [`MultiProgress`] on a terminal, plain lines when stderr is a pipe or a file (CI logs), and
//! nothing with `-q`. Data (the summary) goes to stdout from the script.

use crate::ops::human_bytes;
use crate::ops::warm::{ImageResult, Progress, Quiet, Status};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::collections::HashMap;
use std::io::IsTerminal;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// The reporter for this terminal and verbosity.
pub fn warm_progress() -> Box<dyn Progress> {
    if !tracing::enabled!(target: "brrt", tracing::Level::INFO) {
        Box::new(Quiet)
    } else if std::io::stderr().is_terminal() {
        Box::new(Bars::new())
    } else {
        Box::new(Lines::default())
    }
}

fn verdict(result: &ImageResult) -> String {
    match result.status {
        Status::Warmed => format!("warmed {}", human_bytes(result.bytes)),
        Status::Cached => format!("already cached ({})", human_bytes(result.bytes)),
        Status::Planned => format!("would warm ({})", result.detail),
        Status::Skipped => format!("skipped: {}", result.detail),
        Status::Failed => format!("FAILED: {}", result.detail),
    }
}

/// One bar per image.
struct Bars {
    multi: MultiProgress,
    bars: Mutex<HashMap<usize, ProgressBar>>,
}

impl Bars {
    fn new() -> Self {
        Bars {
            multi: MultiProgress::with_draw_target(ProgressDrawTarget::stderr()),
            bars: Mutex::new(HashMap::new()),
        }
    }

    fn bar(&self, id: usize) -> Option<ProgressBar> {
        self.bars
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&id)
            .cloned()
    }
}

impl Progress for Bars {
    fn begin(&self, id: usize, image: &str) {
        let bar = self.multi.add(ProgressBar::new_spinner());
        bar.set_style(
            ProgressStyle::with_template("{spinner} {prefix} {wide_msg}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        bar.set_prefix(image.to_string());
        bar.set_message("looking in the cache");
        bar.enable_steady_tick(Duration::from_millis(120));
        self.bars
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(id, bar);
    }

    fn sized(&self, id: usize, total: u64, present: u64) {
        let Some(bar) = self.bar(id) else { return };
        bar.set_length(total);
        bar.set_position(present);
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner} {prefix} [{bar:24}] {bytes}/{total_bytes} {wide_msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        bar.set_message(if present < total { "fetching" } else { "" });
    }

    fn advance(&self, id: usize, bytes: u64) {
        if let Some(bar) = self.bar(id) {
            bar.inc(bytes);
        }
    }

    fn end(&self, id: usize, result: &ImageResult) {
        let Some(bar) = self.bar(id) else { return };
        let mark = match result.status {
            Status::Warmed | Status::Cached | Status::Planned => "✓",
            Status::Skipped => "-",
            Status::Failed => "✗",
        };
        bar.set_style(
            ProgressStyle::with_template("{prefix} {wide_msg}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        bar.set_prefix(format!("{mark} {}", result.image));
        bar.finish_with_message(verdict(result));
    }
}

/// Plain lines: one when an image starts fetching, one when it is done.
#[derive(Default)]
struct Lines {
    started: Mutex<HashMap<usize, (Instant, String)>>,
}

impl Progress for Lines {
    fn begin(&self, id: usize, image: &str) {
        self.started
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(id, (Instant::now(), image.to_string()));
    }

    fn sized(&self, id: usize, total: u64, present: u64) {
        if present >= total {
            return;
        }
        if let Some((_, image)) = self
            .started
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&id)
        {
            tracing::info!(
                "warm: {image}: fetching {} of {}",
                human_bytes(total - present),
                human_bytes(total)
            );
        }
    }

    fn advance(&self, _: usize, _: u64) {}

    fn end(&self, id: usize, result: &ImageResult) {
        let took = self
            .started
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&id)
            .map(|(t, _)| t.elapsed().as_secs_f64())
            .unwrap_or(0.0);
        match result.status {
            Status::Warmed => {
                tracing::info!("warm: {}: {} in {took:.1} s", result.image, verdict(result))
            }
            _ => tracing::info!("warm: {}: {}", result.image, verdict(result)),
        }
    }
}
