//! `registry::` — what a registry holds and runs: its repositories, tags and manifests through
//! its HTTP API, and its storage and distribution version through its container.

use crate::ops::registry as ops;
use crate::script::api_doc::ModuleBuilder;
use crate::script::context::ScriptContext;
use crate::script::convert::{to_dynamic, with_docker, RhaiResult};
use rhai::{Dynamic, Map};
use std::sync::Arc;

/// Repositories and tags, through the registry's HTTP API.
pub(super) fn catalog(m: &mut ModuleBuilder<'_>, ctx: &Arc<ScriptContext>) {
    let c = ctx.clone();
    m.func(
        "catalog",
        &["registry: String"],
        "Array",
        "Repositories in a registry (a container name or an http:// URL), following pagination.",
        move |target: &str| -> RhaiResult<Dynamic> {
            let target = target.to_string();
            to_dynamic(&with_docker(&c, |d| async move {
                ops::api_for(&d, &target).await?.catalog().await
            })?)
        },
    );
    let c = ctx.clone();
    m.func(
        "catalog",
        &["registry: String", "page_size: int"],
        "Array",
        "Repositories in a registry, asking for `page_size` per request and following pagination.",
        move |target: &str, page_size: i64| -> RhaiResult<Dynamic> {
            let target = target.to_string();
            let page_size = u32::try_from(page_size.clamp(1, 10_000)).unwrap_or(100);
            to_dynamic(&with_docker(&c, |d| async move {
                ops::api_for(&d, &target)
                    .await?
                    .catalog_paged(page_size)
                    .await
            })?)
        },
    );
    let c = ctx.clone();
    m.func(
        "tags",
        &["registry: String", "repo: String"],
        "Array",
        "The tags of a repository.",
        move |target: &str, repo: &str| -> RhaiResult<Dynamic> {
            let (target, repo) = (target.to_string(), repo.to_string());
            to_dynamic(&with_docker(&c, |d| async move {
                ops::api_for(&d, &target).await?.tags(&repo).await
            })?)
        },
    );
}

/// Reading and deleting manifests, through the registry's HTTP API.
pub(super) fn manifests(m: &mut ModuleBuilder<'_>, ctx: &Arc<ScriptContext>) {
    let c = ctx.clone();
    m.func(
        "manifest",
        &["registry: String", "repo: String", "reference: String"],
        "Map",
        "A manifest by tag or digest: #{digest, media_type, kind (image, oci-index, docker-list), \
         size, content_size, children}.",
        move |target: &str, repo: &str, reference: &str| -> RhaiResult<Dynamic> {
            let (target, repo, reference) =
                (target.to_string(), repo.to_string(), reference.to_string());
            to_dynamic(&with_docker(&c, |d| async move {
                ops::api_for(&d, &target)
                    .await?
                    .manifest(&repo, &reference)
                    .await
            })?)
        },
    );
    let c = ctx.clone();
    m.func(
        "delete",
        &["registry: String", "repo: String", "digest: String"],
        "()",
        "Deletes a manifest by digest.",
        move |target: &str, repo: &str, digest: &str| -> RhaiResult<()> {
            let (target, repo, digest) = (target.to_string(), repo.to_string(), digest.to_string());
            if c.mode.announce(
                crate::ops::Action::Removed,
                &format!("manifest {repo}@{digest}"),
            ) {
                with_docker(&c, |d| async move {
                    ops::api_for(&d, &target)
                        .await?
                        .delete(&repo, &digest)
                        .await
                })?;
            }
            Ok(())
        },
    );
}

/// What a registry container holds and how much.
pub(super) fn storage(m: &mut ModuleBuilder<'_>, ctx: &Arc<ScriptContext>) {
    let c = ctx.clone();
    m.func(
        "contents",
        &["registry: String"],
        "Array",
        "What a registry container holds locally: #{repo, tag, digest, kind, size} per tag; never \
         asks a cache's upstream.",
        move |name: &str| -> RhaiResult<Dynamic> {
            let name = name.to_string();
            to_dynamic(&with_docker(&c, |d| async move {
                ops::contents(&d, &name).await
            })?)
        },
    );
    let c = ctx.clone();
    m.func(
        "size",
        &["registry: String"],
        "int",
        "Bytes in a registry's data volume.",
        move |name: &str| -> RhaiResult<i64> {
            let name = name.to_string();
            with_docker(&c, |d| async move { ops::size(&d, &name).await })
        },
    );
}

/// Which distribution a registry container runs.
pub(super) fn version(m: &mut ModuleBuilder<'_>, ctx: &Arc<ScriptContext>) {
    let c = ctx.clone();
    m.func(
        "version",
        &["registry: String"],
        "Map",
        "Which distribution a registry container runs, from its log (else `registry --version`): \
         #{version, major, honours_ttl, counts_blob_misses, stores_after_hang_up}; () when it \
         does not tell. registry:3 is major 3; registry:2 (2.8) ignores cache.ttl.",
        move |name: &str| -> RhaiResult<Dynamic> {
            let name = name.to_string();
            let found = with_docker(&c, |d| async move { ops::distribution(&d, &name).await })?;
            Ok(match found {
                None => Dynamic::UNIT,
                Some(release) => {
                    let mut map = to_dynamic(&release)?.try_cast::<Map>().unwrap_or_default();
                    map.insert("honours_ttl".into(), release.honours_ttl().into());
                    map.insert(
                        "counts_blob_misses".into(),
                        release.counts_blob_misses().into(),
                    );
                    map.insert(
                        "stores_after_hang_up".into(),
                        release.stores_after_hang_up().into(),
                    );
                    map.into()
                }
            })
        },
    );
}
