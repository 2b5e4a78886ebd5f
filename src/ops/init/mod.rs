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
//! - [`image_refs`]: the images a repository names, and their registries
//! - [`brrt_toml`]: the brrt.toml written
//! - [`justfile`]: the recipes, checked by the real `just`
//! - [`tiltfile`]: the lines that load the Tilt extension

pub mod brrt_toml;
pub mod image_refs;
pub mod justfile;
pub mod tiltfile;

use crate::builtin::{self, BuiltinFile, TILT_EXTENSION_DIR};
use crate::ops::{brrt_config, docker, kind, Action, Error, Result};
use bollard::Docker;
use brrt_toml::{Findings, DEFAULT_PORT, DEFAULT_REGISTRY};
use serde::Serialize;
use std::fmt;
use std::io::Write as _;
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

/// One file `init` looked at, and what it did to it.
#[derive(Debug, Clone, Serialize)]
pub struct InitRow {
    /// Relative to the repository.
    pub file: String,
    pub action: Action,
    pub detail: String,
}

/// What `init` did, for the user.
#[derive(Debug, Clone, Serialize)]
pub struct InitReport {
    pub dir: String,
    pub rows: Vec<InitRow>,
    /// What to do next, and what was found on the way.
    pub notes: Vec<String>,
}

/// A file to write once everything is planned.
enum Write {
    /// A new file; it must not exist.
    Create {
        path: PathBuf,
        text: String,
        executable: bool,
    },
    /// Text added at the end of an existing file.
    Append { path: PathBuf, tail: String },
    /// A `*.new` file brrt wrote before, replaced with this version's.
    Replace { path: PathBuf, text: String },
}

/// Everything planned: the report rows and the writes behind them.
struct Plan {
    dir: PathBuf,
    rows: Vec<InitRow>,
    writes: Vec<Write>,
    notes: Vec<String>,
}

impl Plan {
    fn row(&mut self, path: &Path, action: Action, detail: impl Into<String>) {
        self.rows.push(InitRow {
            file: self.shown(path),
            action,
            detail: detail.into(),
        });
    }

    fn shown(&self, path: &Path) -> String {
        path.strip_prefix(&self.dir)
            .unwrap_or(path)
            .display()
            .to_string()
    }

    /// A built-in file copied out, unless the repository has it already.
    fn copy(&mut self, file: &BuiltinFile) {
        let path = self.dir.join(file.path);
        match std::fs::read_to_string(&path) {
            Err(_) if !path.exists() => {
                self.row(&path, Action::Created, "brrt's built-in, yours to edit");
                self.writes.push(Write::Create {
                    path,
                    text: file.text.to_string(),
                    executable: file.executable,
                });
            }
            Ok(text) if text == file.text => {
                self.row(&path, Action::Unchanged, "same as the built-in")
            }
            _ => self.row(
                &path,
                Action::Unchanged,
                "kept: your copy differs from this brrt's built-in (`brrt init --upgrade` writes \
                 the built-in beside it as .new)",
            ),
        }
    }

    /// This version's built-in beside a local copy that differs from it, as `*.new`.
    fn upgrade(&mut self, file: &BuiltinFile) {
        let path = self.dir.join(file.path);
        let Ok(local) = std::fs::read_to_string(&path) else {
            return;
        };
        if local == file.text {
            return;
        }
        let new = self.dir.join(format!("{}.new", file.path));
        let detail = format!(
            "this brrt's {}, beside your copy: compare and merge, then delete it",
            file.path
        );
        match std::fs::read_to_string(&new) {
            Ok(text) if text == file.text => self.row(
                &new,
                Action::Unchanged,
                "up to date with this brrt's built-in",
            ),
            Ok(_) => {
                self.row(&new, Action::Updated, detail);
                self.writes.push(Write::Replace {
                    path: new,
                    text: file.text.to_string(),
                });
            }
            Err(_) => {
                self.row(&new, Action::Created, detail);
                self.writes.push(Write::Create {
                    path: new,
                    text: file.text.to_string(),
                    executable: file.executable,
                });
            }
        }
    }
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
                        foreign_mirror_notes(d, &c.cluster.name, &c.cluster.take_over_mirrors)
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
        let findings = find(&dir, docker.as_deref()).await?;
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
        if let Some(note) = legacy_registry_note(docker.as_deref(), &findings.registry).await? {
            plan.notes.push(note);
        }
        if let Some(d) = docker.as_deref() {
            plan.notes
                .extend(foreign_mirror_notes(d, &cluster, &[]).await?);
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
        plan_justfile(&mut plan, &dir)?;
    }
    plan_tilt(&mut plan, &dir, req.tilt)?;
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
    apply(&plan)?;
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

/// What brrt.toml is filled with.
async fn find(dir: &Path, d: Option<&Docker>) -> Result<Findings> {
    let clusters = match d {
        Some(d) => Some(kind::clusters(d).await?),
        None => None,
    };
    // The network each cluster is on, from its nodes; and where a new one would go.
    let default = kind::Configured {
        network: kind::KIND_DEFAULT_NETWORK,
        at: None,
    };
    let mut networks = std::collections::BTreeMap::new();
    if let Some(d) = d {
        for name in clusters.iter().flatten() {
            networks.insert(name.clone(), kind::network(d, name, default).await?);
        }
    }
    let env = std::env::var(kind::KIND_NETWORK_VAR).ok();
    networks.insert(
        String::new(),
        kind::cluster_network("", &[], default, env.as_deref()),
    );
    let registry_name = registry_name(d).await?;
    let (port, port_note) = free_port(d, &registry_name.0).await?;
    Ok(Findings {
        clusters,
        networks,
        kube_context: kube_context(),
        repo_name: dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        registry: registry_name.0,
        registry_note: registry_name.1,
        port,
        port_note,
        refs: image_refs::scan(dir),
    })
}

/// `kind-registry`, unless a registry of that name exists that brrt did not create and that
/// holds pushed images (it is no proxy): brrt must leave that one alone, so its own is named
/// `brrt-registry`. An old proxy of that name is taken over by `brrt run migrate`.
async fn registry_name(d: Option<&Docker>) -> Result<(String, Option<String>)> {
    let Some(d) = d else {
        return Ok((DEFAULT_REGISTRY.to_string(), None));
    };
    match docker::inspect_container(d, DEFAULT_REGISTRY).await? {
        Some(c) if !c.labels.contains_key(docker::MANAGED_LABEL) && !is_proxy(&c.env) => Ok((
            "brrt-registry".to_string(),
            Some(format!(
                "{DEFAULT_REGISTRY} exists, was not made by brrt, and is no pull-through cache \
                 (it may hold pushed images), so brrt's push registry gets a name of its own"
            )),
        )),
        _ => Ok((DEFAULT_REGISTRY.to_string(), None)),
    }
}

fn is_proxy(env: &[String]) -> bool {
    env.iter()
        .any(|e| e.starts_with("REGISTRY_PROXY_REMOTEURL="))
}

/// 5001, or the next port nobody holds. A port held by the registry brrt is about to take over
/// (its own push registry, or an old proxy `migrate` replaces) counts as free.
async fn free_port(d: Option<&Docker>, registry: &str) -> Result<(u16, Option<String>)> {
    let owner = match d {
        Some(d) => docker::inspect_container(d, registry).await?,
        None => None,
    };
    let mut first_holder = None;
    for port in DEFAULT_PORT..DEFAULT_PORT + 100 {
        let own = owner.as_ref().is_some_and(|c| {
            c.ports
                .values()
                .any(|hp| hp.rsplit(':').next() == Some(port.to_string().as_str()))
        });
        if own {
            let note = (!owner
                .as_ref()
                .is_some_and(|c| c.labels.contains_key(docker::MANAGED_LABEL)))
            .then(|| {
                format!(
                    "{port} is held by {registry}, which `brrt run migrate` replaces with brrt's \
                     push registry"
                )
            });
            return Ok((port, note));
        }
        let holder = match d {
            Some(d) => docker::port_holder(d, "127.0.0.1", port, registry).await?,
            None => std::net::TcpListener::bind(("127.0.0.1", port))
                .err()
                .map(|_| "another process".to_string()),
        };
        match holder {
            None => {
                let note = first_holder.map(|h: String| {
                    format!("{DEFAULT_PORT} is taken by {h}, so the next free port")
                });
                return Ok((port, note));
            }
            Some(h) => {
                first_holder.get_or_insert(h);
            }
        }
    }
    Ok((
        DEFAULT_PORT,
        Some(format!(
            "ports {DEFAULT_PORT}-{} are all taken: pick a free one",
            DEFAULT_PORT + 99
        )),
    ))
}

/// The current kubectl context, from `KUBECONFIG` (its first file) or `~/.kube/config`.
fn kube_context() -> Option<String> {
    let path = match std::env::var_os("KUBECONFIG").filter(|v| !v.is_empty()) {
        Some(list) => std::env::split_paths(&list).next()?,
        None => PathBuf::from(std::env::var_os("HOME")?).join(".kube/config"),
    };
    let text = std::fs::read_to_string(path).ok()?;
    let config: yaml_serde::Value = yaml_serde::from_str(&text).ok()?;
    config["current-context"].as_str().map(str::to_string)
}

/// One note per hosts.toml in the cluster's nodes that brrt did not write: dev-up stops at it
/// unless brrt may take it over (`take_over`), and the note says what to do.
async fn foreign_mirror_notes(
    d: &Docker,
    cluster: &str,
    take_over: &[String],
) -> Result<Vec<String>> {
    let mut notes = Vec::new();
    for node in kind::nodes(d, cluster).await? {
        if !node.running {
            continue;
        }
        for f in crate::ops::containerd::foreign_mirrors(d, &node.name).await? {
            let taken = take_over.contains(&f.host);
            let remote = f
                .remote()
                .map(|to| {
                    format!(
                        "; to cache what it serves, [cache.remotes] {:?} = {to:?}",
                        f.host
                    )
                })
                .unwrap_or_default();
            notes.push(if taken {
                format!(
                    "{} was not written by brrt; cluster.take_over_mirrors names {}, so dev-up \
                     replaces it and keeps it as hosts.toml.brrt-original (dev-down puts it back)",
                    f.describe(),
                    f.host
                )
            } else {
                format!(
                    "{} was not written by brrt, so dev-up stops before changing anything while \
                     brrt would write a mirror for {}: add {:?} to [cluster] take_over_mirrors \
                     to let brrt replace it while it runs (the original is kept beside it and put \
                     back){remote}",
                    f.describe(),
                    f.host,
                    f.host
                )
            });
        }
    }
    Ok(notes)
}

/// Says what `migrate` does about an old proxy at the registry's name.
async fn legacy_registry_note(d: Option<&Docker>, name: &str) -> Result<Option<String>> {
    let Some(d) = d else { return Ok(None) };
    Ok(match docker::inspect_container(d, name).await? {
        Some(c) if !c.labels.contains_key(docker::MANAGED_LABEL) && is_proxy(&c.env) => {
            Some(format!(
                "{name} is a pull-through cache brrt did not create: `brrt run migrate` moves \
                 what it cached into brrt's cache and replaces it (`brrt run migrate \
                 --dry-run` shows the plan); dev-up alone would stop at it"
            ))
        }
        _ => None,
    })
}

fn plan_justfile(plan: &mut Plan, dir: &Path) -> Result<()> {
    let just = justfile::plan(dir)?;
    let mut detail = Vec::new();
    if !just.added.is_empty() {
        detail.push(format!("added {}", just.added.join(", ")));
    }
    if !just.present.is_empty() && just.added.is_empty() {
        detail.push(format!(
            "brrt's recipes are there ({})",
            just.present.join(", ")
        ));
    }
    if !just.taken.is_empty() {
        detail.push(format!(
            "skipped {}: the justfile has recipes of its own by {}",
            just.taken.join(", "),
            if just.taken.len() == 1 {
                "that name"
            } else {
                "those names"
            }
        ));
    }
    let action = match (&just.text, just.created) {
        (None, _) => Action::Unchanged,
        (Some(_), true) => Action::Created,
        (Some(_), false) => Action::Updated,
    };
    if let Some(text) = &just.text {
        justfile::check_parses(&just.path, text, !just.created)?;
        plan.writes.push(if just.created {
            Write::Create {
                path: just.path.clone(),
                text: text.clone(),
                executable: false,
            }
        } else {
            Write::Append {
                path: just.path.clone(),
                tail: text[just.current.len()..].to_string(),
            }
        });
    }
    let path = just.path.clone();
    plan.row(&path, action, detail.join("; "));
    Ok(())
}

fn plan_tilt(plan: &mut Plan, dir: &Path, write: bool) -> Result<()> {
    let tiltfile = tiltfile::find(dir);
    let current = match &tiltfile {
        Some(path) => Some(std::fs::read_to_string(path).map_err(|e| {
            Error::Other(format!("cannot read Tiltfile: {e}; nothing was changed"))
        })?),
        None => None,
    };
    let loaded = current
        .as_deref()
        .is_some_and(|t| t.contains(tiltfile::GUARD));
    if !write {
        if !loaded {
            plan.notes.push(format!(
                "for Tilt: `brrt init --tilt` writes the extension to {TILT_EXTENSION_DIR}/ and \
                 appends to your Tiltfile the lines that load it:\n{}",
                tiltfile::block()
            ));
        }
        return Ok(());
    }
    for file in builtin::under(TILT_EXTENSION_DIR) {
        plan.copy(file);
    }
    match (tiltfile, current) {
        (Some(path), Some(text)) => match tiltfile::appended(&text) {
            Some(new) => {
                plan.row(
                    &path,
                    Action::Updated,
                    "appended the lines that load the brrt extension",
                );
                plan.writes.push(Write::Append {
                    path,
                    tail: new[text.len()..].to_string(),
                });
            }
            None => plan.row(&path, Action::Unchanged, "loads the brrt extension already"),
        },
        _ => plan.notes.push(format!(
            "no Tiltfile here: when you have one, add the lines that load the extension:\n{}",
            tiltfile::block()
        )),
    }
    Ok(())
}

/// Writes what was planned, in order.
fn apply(plan: &Plan) -> Result<()> {
    let failed = |path: &Path, e: std::io::Error| {
        Error::Other(format!(
            "cannot write {}: {e}; the files listed before it were written",
            plan.shown(path)
        ))
    };
    for write in &plan.writes {
        match write {
            Write::Create {
                path,
                text,
                executable,
            } => {
                if let Some(parent) = path.parent() {
                    std::fs::create_dir_all(parent).map_err(|e| failed(path, e))?;
                }
                // create_new: a file that appeared since the plan is not overwritten either.
                let mut f = std::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .open(path)
                    .map_err(|e| failed(path, e))?;
                f.write_all(text.as_bytes()).map_err(|e| failed(path, e))?;
                #[cfg(unix)]
                if *executable {
                    use std::os::unix::fs::PermissionsExt;
                    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
                        .map_err(|e| failed(path, e))?;
                }
                #[cfg(not(unix))]
                let _ = executable;
            }
            Write::Append { path, tail } => {
                let mut f = std::fs::OpenOptions::new()
                    .append(true)
                    .open(path)
                    .map_err(|e| failed(path, e))?;
                f.write_all(tail.as_bytes()).map_err(|e| failed(path, e))?;
            }
            Write::Replace { path, text } => {
                std::fs::write(path, text).map_err(|e| failed(path, e))?;
            }
        }
    }
    Ok(())
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
