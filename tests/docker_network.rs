//! `docker::network::connect` is idempotent: connecting twice leaves one endpoint.

use crate::support::{docker, set, Project, Testbed};

#[test]
fn connect_twice_leaves_one_endpoint() {
    let Some(tb) = Testbed::require("connect_twice") else {
        return;
    };
    let name = tb.container("registry");
    let network = tb.network("net");
    let project = Project::new().file(
        "up.rhai",
        r#"
        print("network=" + docker::network::ensure(SET.network));
        docker::ensure(#{ name: SET.name, image: "brrt-testbed/registry:2" });
        print("first=" + docker::network::connect(SET.network, SET.name));
        print("second=" + docker::network::connect(SET.network, SET.name));
        "#,
    );
    let run = || {
        project
            .brrt()
            .args(["run", "up.rhai"])
            .args(set("name", &name))
            .args(set("network", &network))
            .run()
    };

    let out = run();
    out.success();
    assert_eq!(out.printed("network"), "created");
    assert_eq!(out.printed("first"), "connected");
    assert_eq!(out.printed("second"), "unchanged");

    // Running the whole flow again is quiet too.
    let out = run();
    out.success();
    assert_eq!(out.printed("network"), "unchanged");
    assert_eq!(out.printed("first"), "unchanged");

    let endpoints = docker(&[
        "network",
        "inspect",
        "--format",
        "{{range .Containers}}{{.Name}}\n{{end}}",
        &network,
    ]);
    assert_eq!(endpoints.lines().collect::<Vec<_>>(), [name.as_str()]);
}
