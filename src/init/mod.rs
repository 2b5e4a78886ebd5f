//! `brrt init [DIR]`: sets a repository up for brrt, and never overwrites a file.
//!
//! It writes a commented brrt.toml filled with what it finds (the kind cluster, a free port, the
//! registries the repository pulls from); with `--flows` copies the built-in flows into
//! `scripts/`; with `--just` adds brrt's recipes to the justfile; with `--tilt` writes the Tilt
//! extension and loads it from the Tiltfile; with `--upgrade` writes this version's built-ins
//! beside local copies that differ, as `*.new`. Everything is checked and planned before the
//! first file is written, so bad input changes nothing; a second run changes nothing and says
//! so.
//!
//! It sits beside `cli`, not in `ops`: it is a command of its own that writes a team's files,
//! not an operation a flow calls. It uses `ops`; nothing in `ops` uses it.
//!
//! - [`machine`]: what it finds on this machine (clusters, a free port, names taken)
//! - [`image_refs`]: the images a repository names, and the files it could not read
//! - [`brrt_toml`]: the brrt.toml written
//! - [`justfile`]: the recipes, checked by the real `just`
//! - [`tiltfile`]: the lines that load the Tilt extension
//! - [`plan`]: the files to write, all planned before the first is written

pub mod brrt_toml;
pub mod image_refs;
pub mod justfile;
mod machine;
mod plan;
pub mod tiltfile;

use crate::builtin;
use crate::ops::{brrt_config, docker, Action, Error, Result};
pub use plan::InitRow;
use plan::{Plan, Write};
use serde::Serialize;
use std::fmt;
use std::path::{Path, PathBuf};

/// What `brrt init` was asked to do.
#[derive(Debug, Clone)]
pub struct InitRequest {
    pub dir: PathBuf,
    /// Copy the built-in flows into `scripts/`.
    pub flows: bool,
    /// Add brrt's recipes to the justfile (or create one).
    pub just: bool,
    /// Write the Tilt extension and load it from the Tiltfile.
    pub tilt: bool,
    /// Write this version's built-ins beside local copies that differ, as `*.new`.
    pub upgrade: bool,
}

/// What `init` did, for the user.
#[derive(Debug, Clone, Serialize)]
pub struct InitReport {
    pub dir: String,
    pub rows: Vec<InitRow>,
    /// What to do next, and what was found on the way.
    pub notes: Vec<String>,
}

/// Runs `brrt init`.
pub async fn init(req: &InitRequest) -> Result<InitReport> {
    let dir = check_dir(&req.dir)?;
    let mut plan = Plan {
        dir: dir.clone(),
        rows: Vec::new(),
        writes: Vec::new(),
        notes: Vec::new(),
    };
    let docker = match docker::connect().await {
        Ok(d) => Some(d),
        Err(e) => {
            plan.notes.push(format!(
                "{e}; so no kind cluster was looked up, and ports were checked on this host only"
            ));
            None
        }
    };

    // brrt.toml: kept when it exists; else written from what is found.
    let config = dir.join("brrt.toml");
    if config.exists() {
        let text = std::fs::read_to_string(&config).unwrap_or_default();
        plan.row(
            &config,
            Action::Unchanged,
            "kept: it exists, and brrt init never overwrites a file",
        );
        match brrt_config::parse("brrt.toml", &text) {
            Ok(c) => {
                if let Some(d) = docker.as_deref() {
                    plan.notes.extend(
                        machine::foreign_mirror_notes(
                            d,
                            &c.cluster.name,
                            &c.cluster.take_over_mirrors,
                        )
                        .await?,
                    );
                }
            }
            Err(e) => {
                plan.notes.push(format!(
                    "brrt.toml does not pass brrt's checks; fix it:\n{e}"
                ));
            }
        }
    } else {
        let findings = machine::find(&dir, docker.as_deref()).await?;
        let (cluster, how) = brrt_toml::pick_cluster(&findings);
        let (upstreams, _) = brrt_toml::upstreams(&findings.refs);
        let text = brrt_toml::render(&findings);
        // What init writes, brrt must accept as it is.
        if let Err(e) = brrt_config::parse("brrt.toml", &text) {
            return Err(Error::Other(format!(
                "brrt init made a brrt.toml its own checks refuse (a bug; nothing was \
                 changed):\n{e}"
            )));
        }
        plan.row(
            &config,
            Action::Created,
            format!(
                "cluster {cluster} ({how}), push registry {} on port {}, caches for {}",
                findings.registry,
                findings.port,
                upstreams.join(", ")
            ),
        );
        plan.writes.push(Write::Create {
            path: config.clone(),
            text,
            executable: false,
        });
        plan.notes.extend(image_refs::unread_note(&findings.unread));
        if let Some(note) =
            machine::legacy_registry_note(docker.as_deref(), &findings.registry).await?
        {
            plan.notes.push(note);
        }
        if let Some(d) = docker.as_deref() {
            plan.notes
                .extend(machine::foreign_mirror_notes(d, &cluster, &[]).await?);
        }
    }

    if req.flows {
        for file in builtin::files()
            .iter()
            .filter(|f| f.path.starts_with("scripts/"))
        {
            plan.copy(file);
        }
    }
    if req.upgrade {
        for file in builtin::files() {
            plan.upgrade(file);
        }
    }
    if req.just {
        justfile::add_to(&mut plan, &dir)?;
    }
    tiltfile::add_to(&mut plan, &dir, req.tilt)?;
    if config.exists() {
        plan.notes
            .push("next: `brrt run dev-up` (or `brrt flows` to see the flows)".to_string());
    } else {
        plan.notes.push(
            "next: read brrt.toml, then `brrt run dev-up` brings up the registries and wires \
             the nodes"
                .to_string(),
        );
    }
    plan::apply(&plan)?;
    Ok(InitReport {
        dir: dir.display().to_string(),
        rows: plan.rows,
        notes: plan.notes,
    })
}

/// The directory, which must exist and be writable: checked by creating a file in it, so that
/// nothing is written when it is not.
fn check_dir(dir: &Path) -> Result<PathBuf> {
    let shown = dir.display();
    if !dir.is_dir() {
        return Err(Error::Other(format!(
            "{shown} is not a directory: give the repository's folder (`brrt init` alone means \
             the current one)"
        )));
    }
    let probe = dir.join(format!(".brrt-init-{}", std::process::id()));
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&probe)
    {
        Ok(_) => {
            let _ = std::fs::remove_file(&probe);
            Ok(std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf()))
        }
        Err(e) => Err(Error::Other(format!(
            "cannot write in {shown}: {e}; nothing was changed. Run brrt init as a user who may \
             write there, or in a copy of the repository"
        ))),
    }
}

impl fmt::Display for InitReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let w0 = self
            .rows
            .iter()
            .map(|r| r.file.len())
            .max()
            .unwrap_or(0)
            .max(4);
        let w1 = "unchanged".len();
        writeln!(f, "{:w0$}  {:w1$}  detail", "file", "action")?;
        for r in &self.rows {
            writeln!(f, "{:w0$}  {:w1$}  {}", r.file, r.action.as_str(), r.detail)?;
        }
        let changed: Vec<&InitRow> = self.rows.iter().filter(|r| r.action.is_change()).collect();
        if changed.is_empty() {
            writeln!(
                f,
                "init: nothing changed in {}; every file is as brrt init leaves it",
                self.dir
            )?;
        } else {
            let created = changed
                .iter()
                .filter(|r| r.action == Action::Created)
                .count();
            let updated = changed.len() - created;
            writeln!(
                f,
                "init: {created} created, {updated} updated in {}",
                self.dir
            )?;
        }
        for note in &self.notes {
            writeln!(f, "\n{note}")?;
        }
        Ok(())
    }
}
