//! The Tilt loop end to end, on real parts: the real API server (kube-apiserver v1.36.2), a
//! node running real containerd (1.6, and kind's 2.3) with kind's labels, brrt's dev-up, then
//! the real `tilt ci` building an image, pushing it where the announcement says and applying a
//! Deployment that names it. There is no kubelet here (kind's node image cannot run), so the
//! pod never starts and `tilt ci` stops at its timeout; the test then reads the image the
//! Deployment names from the API server and pulls exactly that reference through the node's
//! containerd with its hosts.toml mirrors, as the node's kubelet would.

use crate::integrations::{Declared, Tilt};
use crate::support::cluster::{script, Cluster, Node, NO_CACHES};
use crate::support::kube_apiserver::KubeApiServer;
use crate::support::{try_docker, Containerd, Project, Registry, Testbed, STACKS};

/// What the image Tilt builds holds, in `hello.txt`.
const APP_TEXT: &str = "hello from the team's app, built by Tilt";

on_both_stacks!(tilt_ci_applies_what_the_node_pulls);

/// A team's project for Tilt: a `FROM scratch` image with one file, built by `docker_build`,
/// and a Deployment that runs it, applied by `k8s_yaml`. `image` is the image's name in the
/// Tiltfile and the Deployment (of the test's own, so that the images Tilt tags are too).
pub(crate) fn team_app(project: &Project, image: &str, tiltfile_head: &str) {
    project.write("app/hello.txt", APP_TEXT);
    project.write(
        "app/Dockerfile",
        "FROM scratch\nCOPY hello.txt /hello.txt\n",
    );
    project.write(
        "app/deployment.yaml",
        format!(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app\n  namespace: default\n\
             spec:\n  selector:\n    matchLabels:\n      app: app\n  template:\n    metadata:\n\
             \x20     labels:\n        app: app\n    spec:\n      containers:\n      - name: app\n\
             \x20       image: {image}\n        command: [\"/hello\"]\n"
        ),
    );
    project.write(
        "Tiltfile",
        format!("{tiltfile_head}docker_build({image:?}, 'app')\nk8s_yaml('app/deployment.yaml')\n"),
    );
}

/// The image the Deployment `app` names, as Tilt applied it.
#[track_caller]
pub(crate) fn applied_image(api: &KubeApiServer, tilt_said: &str) -> String {
    let deployment = api
        .get("/apis/apps/v1/namespaces/default/deployments/app")
        .unwrap_or_else(|| panic!("Tilt applied no Deployment app:\n{tilt_said}"));
    deployment["spec"]["template"]["spec"]["containers"][0]["image"]
        .as_str()
        .expect("the Deployment names an image")
        .to_string()
}

/// Removes the images Tilt built and tagged under `name` from the Docker engine.
pub(crate) fn remove_built_images(name: &str) {
    for filter in [format!("reference={name}"), format!("reference=*/{name}")] {
        let listed = try_docker(&[
            "image",
            "ls",
            "--filter",
            &filter,
            "--format",
            "{{.Repository}}:{{.Tag}}",
        ]);
        for image in listed.unwrap_or_default().lines().filter(|l| !l.is_empty()) {
            let _ = try_docker(&["image", "rm", "--force", image]);
        }
    }
}

/// Pulls what Tilt applied the way the node's kubelet would, and reads the app's file from it.
#[track_caller]
pub(crate) fn node_runs(node: &Node, image: &str) {
    node.must_pull(image);
    assert_eq!(node.file_in_image(image, "hello.txt"), APP_TEXT);
}

fn tilt_ci_applies_what_the_node_pulls(stack: (Containerd, Registry)) {
    let test = format!(
        "tilt_ci_applies_what_the_node_pulls::{}_{}",
        stack.0.suffix(),
        stack.1.suffix()
    );
    let Some(tilt) = Tilt::require(&test) else {
        return;
    };
    let Some(tb) = Testbed::require_stack("tiltloop", stack) else {
        return;
    };
    let cluster = Cluster::new(&tb);
    let Some(api) = KubeApiServer::require(&test, &format!("kind-{}", cluster.name)) else {
        return;
    };
    cluster.write_config(&NO_CACHES);
    let kubeconfig = api.kubeconfig();

    // dev-up: the push registry, the node's mirrors, and the announcement.
    cluster
        .project
        .brrt()
        .env("KUBECONFIG", kubeconfig)
        .arg("run")
        .arg(script("dev-up.rhai"))
        .run()
        .success()
        .stdout_contains("announcement");

    // The team's app, under the real Tilt.
    let image = tb.container("app");
    team_app(&cluster.project, &image, "");
    let (out, _) = tilt.ci(
        &cluster.project.path().join("Tiltfile"),
        &[("KUBECONFIG", &kubeconfig.display().to_string())],
        "20s",
    );
    remove_built_images(&image);
    let said = format!("{out:?}");
    // Tilt found the registry in the announcement: all four fields, as dev-up wrote them.
    out.stdout_contains(&format!(
        "Auto-detected local registry from environment: &{{localhost:{port} {}:5000 \
         localhost:{port} https://kind.sigs.k8s.io/docs/user/local-registry/ }}",
        cluster.registry,
        port = cluster.port
    ))
    .stdout_contains(&format!("Pushing localhost:{}/{image}:tilt-", cluster.port))
    .stdout_contains("Objects applied to cluster:");
    // No kubelet runs here: the pod never starts, and tilt ci stops at its timeout.
    out.failure(1)
        .stderr_contains("1 resources waiting (app:runtime waiting-for-pod)");
    let applied = applied_image(&api, &said);
    assert!(
        applied.starts_with(&format!("localhost:{}/{image}:tilt-", cluster.port)),
        "{applied}\n{said}"
    );

    // Exactly what Tilt applied pulls on the node, through its mirror for localhost:<port>.
    node_runs(&cluster.control_plane(), &applied);
}

/// Tilt reads the announcement once, when it first connects to the cluster, after the Tiltfile
/// has loaded. In a project `brrt init --tilt` set up, the first `tilt ci` from a fresh cluster
/// (no announcement, no registry) must already find the registry: the extension runs dev-up
/// while the Tiltfile loads. And the port lives in brrt.toml alone: a new port there is followed
/// with the Tiltfile as init wrote it.
#[test]
fn tilt_finds_the_registry_on_its_first_run_in_a_project_brrt_init_set_up() {
    let test = "tilt_finds_the_registry_on_its_first_run_in_a_project_brrt_init_set_up";
    let Some(tilt) = Tilt::require(test) else {
        return;
    };
    let Some(tb) = Testbed::require_stack("tiltfirst", STACKS[1]) else {
        return;
    };
    let mut cluster = Cluster::new(&tb);
    let Some(api) = KubeApiServer::require(test, &format!("kind-{}", cluster.name)) else {
        return;
    };
    let kubeconfig = api.kubeconfig().display().to_string();
    let project = &cluster.project;
    let image = tb.container("app");
    team_app(project, &image, "# the team's Tiltfile\n");

    // brrt init --tilt: the extension, and the lines that load it, under the team's own.
    project
        .brrt()
        .args(["init", "--tilt"])
        .run()
        .success()
        .stdout_contains("appended the lines that load the brrt extension");
    let tiltfile = std::fs::read_to_string(project.path().join("Tiltfile")).unwrap();
    assert!(tiltfile.contains("\nbrrt_up()\n"), "{tiltfile}");
    assert!(!tiltfile.contains("registry_port"), "{tiltfile}");
    // The user points brrt.toml at this cluster (its names, a port of the test's own, no caches).
    cluster.write_config(&NO_CACHES);
    assert!(api
        .config_map("kube-public", "local-registry-hosting")
        .is_none());

    let tiltfile_path = project.path().join("Tiltfile");
    let first_run = |cluster: &Cluster<'_>| {
        let (out, _) = tilt.ci(&tiltfile_path, &[("KUBECONFIG", &kubeconfig)], "20s");
        remove_built_images(&image);
        let said = format!("{out:?}");
        out.stdout_contains(&format!(
            "Auto-detected local registry from environment: &{{localhost:{port} {}:5000 \
             localhost:{port} ",
            cluster.registry,
            port = cluster.port
        ))
        .stdout_lacks("without a local image registry")
        .stderr_contains("1 resources waiting (app:runtime waiting-for-pod)");
        let applied = applied_image(&api, &said);
        assert!(
            applied.starts_with(&format!("localhost:{}/{image}:tilt-", cluster.port)),
            "{applied}\n{said}"
        );
        node_runs(&cluster.control_plane(), &applied);
    };
    first_run(&cluster);

    // A new port in brrt.toml; the Tiltfile is left as init wrote it. Tilt loads the Tiltfile
    // again when brrt.toml changes, and the probe then waits on the new port.
    cluster.port = crate::support::cluster::free_port();
    cluster.write_config(&NO_CACHES);
    let declared = Declared::of(&tilt.declared(&tiltfile_path, &[]));
    assert_eq!(
        declared.resource("brrt").readiness_probe()["tcpSocket"]["port"],
        cluster.port
    );
    let config = project.path().join("brrt.toml").display().to_string();
    assert!(
        declared.config_files().contains(&config.as_str()),
        "{:?}",
        declared.config_files()
    );
    first_run(&cluster);
    assert_eq!(
        std::fs::read_to_string(&tiltfile_path).unwrap(),
        tiltfile,
        "the Tiltfile changed"
    );
}
