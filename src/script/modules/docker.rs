//! `docker::` — containers, networks, volumes and exec on the local engine.

use crate::ops::docker as ops;
use crate::ops::docker::ContainerSpec;
use crate::ops::{Action, Mode};
use crate::script::api_doc::ModuleBuilder;
use crate::script::context::ScriptContext;
use crate::script::convert::{
    from_dynamic, runtime_error, string_list, to_dynamic, with_docker, RhaiResult,
};
use rhai::{Array, Dynamic, Map};
use std::sync::Arc;

/// Runs an ensure-style operation on one named thing and records what it did.
fn change<F, Fut>(c: &ScriptContext, what: String, op: F) -> RhaiResult<String>
where
    F: FnOnce(ops::Engine, Mode) -> Fut,
    Fut: std::future::Future<Output = crate::ops::Result<Action>>,
{
    let mode = c.mode;
    let action = with_docker(c, |d| op(d, mode))?;
    c.record(action, what);
    Ok(action.to_string())
}

pub fn register(m: &mut ModuleBuilder<'_>, ctx: &Arc<ScriptContext>) {
    engine(m, ctx);
    lifecycle(m, ctx);
    inspect(m, ctx);
    commands(m, ctx);
    network(m, ctx);
    volume(m, ctx);
}

/// Whether the engine answers, and which it is.
fn engine(m: &mut ModuleBuilder<'_>, ctx: &Arc<ScriptContext>) {
    let c = ctx.clone();
    m.func(
        "ping",
        &[],
        "bool",
        "Checks that the Docker engine answers now (a request, not a cached connection); fails \
         with how to start it if not.",
        move || -> RhaiResult<bool> {
            with_docker(&c, |d| async move { ops::ping(&d).await.map(|()| true) })
        },
    );
    let c = ctx.clone();
    m.func(
        "version",
        &[],
        "Map",
        "The engine's version, API version, OS and architecture, and where brrt reaches it: \
         #{version, api_version, os, arch, endpoint}. The endpoint is DOCKER_HOST, else the \
         Docker context's (DOCKER_CONTEXT, else config.json's current context), else \
         unix:///var/run/docker.sock, as the docker CLI chooses; e.g. \
         \"unix:///home/me/.colima/default/docker.sock (Docker context colima)\".",
        move || -> RhaiResult<Dynamic> {
            to_dynamic(&with_docker(&c, |d| async move { ops::version(&d).await })?)
        },
    );
}

/// Creating and removing containers.
fn lifecycle(m: &mut ModuleBuilder<'_>, ctx: &Arc<ScriptContext>) {
    let c = ctx.clone();
    m.func(
        "ensure",
        &["spec: Map"],
        "Map",
        "Creates, starts or re-creates a container to match spec (name, image, cmd, entrypoint, \
         env, secret_env, ports, mounts, network, labels, restart, cap_add, security_opt); a \
         replacement must start before the old one goes. secret_env values never reach a label or \
         a log. Returns #{name, action, id}.",
        move |spec: Map| -> RhaiResult<Dynamic> {
            let spec: ContainerSpec = from_dynamic("docker::ensure", &spec.into())?;
            let mode = c.mode;
            let out = with_docker(&c, |d| async move {
                ops::ensure_container(&d, &spec, mode).await
            })?;
            c.record(out.action, format!("container {}", out.name));
            to_dynamic(&out)
        },
    );
    let c = ctx.clone();
    m.func(
        "remove",
        &["name: String"],
        "String",
        "Removes a container brrt created (named volumes stay); returns \"removed\" or \"absent\". \
         One brrt did not create (no dev.brrt.managed label) is left as it is, with an error.",
        move |name: &str| -> RhaiResult<String> {
            let mode = c.mode;
            let action = with_docker(&c, |d| async move {
                ops::remove_container(&d, name, mode).await
            })?;
            c.record(action, format!("container {name}"));
            Ok(action.to_string())
        },
    );
}

/// Reading containers.
fn inspect(m: &mut ModuleBuilder<'_>, ctx: &Arc<ScriptContext>) {
    let c = ctx.clone();
    m.func(
        "inspect",
        &["name: String"],
        "Map",
        "A container's id, image, running, status, started_at, labels, networks and ports; () if \
         absent.",
        move |name: &str| -> RhaiResult<Dynamic> {
            match with_docker(
                &c,
                |d| async move { ops::inspect_container(&d, name).await },
            )? {
                Some(state) => to_dynamic(&state),
                None => Ok(Dynamic::UNIT),
            }
        },
    );
    let c = ctx.clone();
    m.func(
        "list",
        &["labels: Array"],
        "Array",
        "Containers (running or not) carrying every label given as \"key\" or \"key=value\".",
        move |labels: Array| -> RhaiResult<Dynamic> {
            let labels = string_list("docker::list", &labels)?;
            let list = with_docker(
                &c,
                |d| async move { ops::list_containers(&d, &labels).await },
            )?;
            to_dynamic(&list)
        },
    );
}

/// Running commands in a container, and reading what it printed.
fn commands(m: &mut ModuleBuilder<'_>, ctx: &Arc<ScriptContext>) {
    let c = ctx.clone();
    m.func(
        "exec",
        &["name: String", "cmd: Array"],
        "Map",
        "Runs cmd in a running container; returns #{stdout, stderr, code, dry_run}. Under \
         --dry-run it runs nothing and says what it would run.",
        move |name: &str, cmd: Array| -> RhaiResult<Dynamic> {
            let cmd = string_list("docker::exec", &cmd)?;
            if cmd.is_empty() {
                return Err(runtime_error("docker::exec: the command is empty"));
            }
            let mode = c.mode;
            let out = with_docker(&c, |d| async move {
                ops::exec_command(&d, name, &cmd, mode).await
            })?;
            to_dynamic(&out)
        },
    );
    let c = ctx.clone();
    m.func(
        "exec",
        &["name: String", "command: String"],
        "Map",
        "Runs a shell command line (sh -c) in a running container; returns #{stdout, stderr, code, \
         dry_run}. Under --dry-run it runs nothing.",
        move |name: &str, command: &str| -> RhaiResult<Dynamic> {
            let cmd = vec!["sh".to_string(), "-c".to_string(), command.to_string()];
            let mode = c.mode;
            let out = with_docker(&c, |d| async move {
                ops::exec_command(&d, name, &cmd, mode).await
            })?;
            to_dynamic(&out)
        },
    );
    let c = ctx.clone();
    m.func(
        "logs",
        &["name: String", "tail: int"],
        "String",
        "The last `tail` lines a container printed (stdout and stderr).",
        move |name: &str, tail: i64| -> RhaiResult<String> {
            with_docker(&c, |d| async move {
                ops::logs(&d, name, usize::try_from(tail).unwrap_or(0)).await
            })
        },
    );
}

/// `docker::network::`.
fn network(m: &mut ModuleBuilder<'_>, ctx: &Arc<ScriptContext>) {
    m.sub("network", |n| {
        let c = ctx.clone();
        n.func(
            "ensure",
            &["name: String"],
            "String",
            "Creates a bridge network unless it exists; returns \"created\" or \"unchanged\".",
            move |name: &str| -> RhaiResult<String> {
                change(&c, format!("network {name}"), |d, mode| async move {
                    ops::ensure_network(&d, name, mode).await
                })
            },
        );
        let c = ctx.clone();
        n.func(
            "connect",
            &["network: String", "container: String"],
            "String",
            "Connects a container to a network; \"unchanged\" when it already is.",
            move |network: &str, container: &str| -> RhaiResult<String> {
                change(&c, format!("{container} on network {network}"), |d, mode| async move {
                    ops::connect_network(&d, network, container, mode).await
                })
            },
        );
        let c = ctx.clone();
        n.func(
            "disconnect",
            &["network: String", "container: String"],
            "String",
            "Disconnects a container from a network; \"absent\" when it was not connected.",
            move |network: &str, container: &str| -> RhaiResult<String> {
                change(&c, format!("{container} on network {network}"), |d, mode| async move {
                    ops::disconnect_network(&d, network, container, mode).await
                })
            },
        );
        let c = ctx.clone();
        n.func(
            "remove",
            &["name: String"],
            "String",
            "Removes a network; \"absent\" when there was none.",
            move |name: &str| -> RhaiResult<String> {
                change(&c, format!("network {name}"), |d, mode| async move {
                    ops::remove_network(&d, name, mode).await
                })
            },
        );
    });
}

/// `docker::volume::`.
fn volume(m: &mut ModuleBuilder<'_>, ctx: &Arc<ScriptContext>) {
    m.sub("volume", |v| {
        let c = ctx.clone();
        v.func(
            "ensure",
            &["name: String"],
            "String",
            "Creates a named volume unless it exists; returns \"created\" or \"unchanged\".",
            move |name: &str| -> RhaiResult<String> {
                change(&c, format!("volume {name}"), |d, mode| async move {
                    ops::ensure_volume(&d, name, &std::collections::BTreeMap::new(), mode).await
                })
            },
        );
        let c = ctx.clone();
        v.func(
            "remove",
            &["name: String"],
            "String",
            "Removes a named volume brrt created; \"absent\" when there was none. One brrt did not \
             create is kept, with an error.",
            move |name: &str| -> RhaiResult<String> {
                change(&c, format!("volume {name}"), |d, mode| async move {
                    ops::remove_volume(&d, name, mode).await
                })
            },
        );
    });
}
