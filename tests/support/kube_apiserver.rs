//! The real Kubernetes API server (kube-apiserver v1.36.2 with Debian's etcd), started for one
//! test by the testbed's `start-apiserver.sh` on loopback ports of its own, and stopped when
//! the test ends. Real server-side apply, managedFields, validation and RBAC; no controllers,
//! scheduler or kubelet behind it (see the testbed's README).
//!
//! Starting one costs several CPU-seconds, so starts are made one at a time. Locally a missing
//! part (the binary, etcd, openssl, curl) skips the test with a message; under CI it fails.

use super::ci::{missing, testbed_bin};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;

/// Held while a server starts: one start at a time on these 2-core machines.
static STARTING: Mutex<()> = Mutex::new(());

/// A running kube-apiserver and etcd of one test, and the admin kubeconfig for them. Stopped
/// (and its folder removed) when dropped.
pub struct KubeApiServer {
    /// Holds the kubeconfig and the server's state (etcd's data, certificates, logs).
    _dir: tempfile::TempDir,
    state: PathBuf,
    kubeconfig: PathBuf,
    url: String,
    token: String,
    running: bool,
}

/// The testbed folder: the parent of `BRRT_TESTBED_BIN`, where `start-apiserver.sh` is.
fn testbed_dir() -> PathBuf {
    let bin = testbed_bin();
    bin.parent()
        .map_or_else(|| bin.join(".."), Path::to_path_buf)
}

/// Whether a program is on PATH.
fn on_path(program: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Why no server can start here, if none can.
fn unavailable() -> Option<String> {
    let script = testbed_dir().join("start-apiserver.sh");
    if !script.is_file() {
        return Some(format!(
            "no {} (the testbed's API server; set BRRT_TESTBED_BIN to its bin folder)",
            script.display()
        ));
    }
    let binary = testbed_bin().join("kube-apiserver");
    if !binary.is_file() {
        return Some(format!("no kube-apiserver in {}", testbed_bin().display()));
    }
    for (program, package) in [
        ("etcd", "etcd-server"),
        ("openssl", "openssl"),
        ("curl", "curl"),
    ] {
        if !on_path(program) {
            return Some(format!(
                "no {program} on PATH for the real API server (apt-get install {package})"
            ));
        }
    }
    None
}

impl KubeApiServer {
    /// A fresh API server whose kubeconfig names its cluster, context and user `context`
    /// (`kind-<cluster>` for a kind cluster), or `None` after saying why none can run here.
    pub fn require(test: &str, context: &str) -> Option<KubeApiServer> {
        if let Some(why) = unavailable() {
            missing(test, &why);
            return None;
        }
        Some(KubeApiServer::start(context))
    }

    /// Starts one, trying a second time when the first start fails: the script picks free
    /// ports, and on a busy machine another process can take one before the server binds it.
    fn start(context: &str) -> KubeApiServer {
        match KubeApiServer::try_start(context) {
            Ok(server) => server,
            Err(first) => {
                eprintln!("the real API server did not start; trying once more:\n{first}");
                KubeApiServer::try_start(context).unwrap_or_else(|second| panic!("{second}"))
            }
        }
    }

    fn try_start(context: &str) -> Result<KubeApiServer, String> {
        let dir = tempfile::Builder::new()
            .prefix("brrt-kube-apiserver-")
            .tempdir()
            .expect("a temp dir for the API server");
        let kubeconfig = dir.path().join("kubeconfig");
        let state = dir.path().join("state");
        let script = testbed_dir().join("start-apiserver.sh");
        let out = {
            let _one_at_a_time = STARTING.lock().unwrap_or_else(|p| p.into_inner());
            Command::new("bash")
                .arg(&script)
                .arg(&kubeconfig)
                .arg(&state)
                .env("APISERVER_CONTEXT", context)
                .env("KUBE_APISERVER", testbed_bin().join("kube-apiserver"))
                // It stops with this test process, whatever happens to the test.
                .env("APISERVER_WATCH_PID", std::process::id().to_string())
                .stdin(Stdio::null())
                .output()
                .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()))
        };
        let stdout = String::from_utf8_lossy(&out.stdout);
        if !out.status.success() {
            let log = std::fs::read_to_string(state.join("kube-apiserver.log")).unwrap_or_default();
            let tail: Vec<&str> = log.lines().rev().take(20).collect();
            return Err(format!(
                "the real API server did not start ({}):\n{stdout}{}\n--- kube-apiserver.log (last lines) ---\n{}",
                script.display(),
                String::from_utf8_lossy(&out.stderr),
                tail.into_iter().rev().collect::<Vec<_>>().join("\n")
            ));
        }
        let config: Value = yaml_serde::from_str(
            &std::fs::read_to_string(&kubeconfig).expect("the script wrote the kubeconfig"),
        )
        .expect("the kubeconfig is YAML");
        let url = config["clusters"][0]["cluster"]["server"]
            .as_str()
            .expect("the kubeconfig names the server")
            .to_string();
        let token = std::fs::read_to_string(state.join("token"))
            .expect("the script wrote a token")
            .trim()
            .to_string();
        Ok(KubeApiServer {
            _dir: dir,
            state,
            kubeconfig,
            url,
            token,
            running: true,
        })
    }

    /// The admin kubeconfig: cluster, context and user all named [`Self::context`], current.
    pub fn kubeconfig(&self) -> &Path {
        &self.kubeconfig
    }

    /// `https://127.0.0.1:PORT`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The CA that signed the server's certificate.
    pub fn ca(&self) -> PathBuf {
        self.state.join("pki/ca.crt")
    }

    /// A bearer token with the rights of `system:masters`.
    pub fn token(&self) -> &str {
        &self.token
    }

    /// Stops the server and its etcd: from now on connections are refused.
    pub fn stop(&mut self) {
        if std::mem::replace(&mut self.running, false) {
            let _ = Command::new("bash")
                .arg(self.state.join("stop.sh"))
                .stdin(Stdio::null())
                .output();
        }
    }

    /// One request, as `curl` sends it with the admin token: the status code and the JSON
    /// body (`Null` when there is none).
    pub fn request(
        &self,
        method: &str,
        path: &str,
        content_type: &str,
        body: Option<&str>,
    ) -> (u16, Value) {
        let mut command = Command::new("curl");
        command
            .args(["-sS", "--max-time", "30", "-X", method, "--cacert"])
            .arg(self.ca())
            .arg("-H")
            .arg(format!("Authorization: Bearer {}", self.token))
            .args(["-H", &format!("Content-Type: {content_type}")])
            .args(["-w", "\n%{http_code}"]);
        if body.is_some() {
            command.args(["--data-binary", "@-"]);
        }
        command
            .arg(format!("{}{path}", self.url))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command.spawn().expect("cannot run curl");
        {
            use std::io::Write;
            let mut stdin = child.stdin.take().expect("stdin is piped");
            if let Some(b) = body {
                stdin
                    .write_all(b.as_bytes())
                    .expect("write the body to curl");
            }
        }
        let out = child.wait_with_output().expect("curl ran");
        let text = String::from_utf8_lossy(&out.stdout);
        let (json, code) = text.rsplit_once('\n').unwrap_or(("", &text));
        let code = code.trim().parse().unwrap_or_else(|_| {
            panic!(
                "{method} {path}: no answer from the API server: {}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
        let json = if json.trim().is_empty() {
            Value::Null
        } else {
            serde_json::from_str(json).unwrap_or_else(|e| panic!("{method} {path}: {e}: {json}"))
        };
        (code, json)
    }

    /// An object as the server has it, or `None` when there is none (`path` as in the API,
    /// e.g. `/api/v1/namespaces/kube-public/configmaps/x`).
    #[track_caller]
    pub fn get(&self, path: &str) -> Option<Value> {
        match self.request("GET", path, "application/json", None) {
            (200, v) => Some(v),
            (404, _) => None,
            (code, v) => panic!("GET {path}: HTTP {code}: {v}"),
        }
    }

    /// A ConfigMap as the server holds it.
    pub fn config_map(&self, namespace: &str, name: &str) -> Option<Value> {
        self.get(&format!("/api/v1/namespaces/{namespace}/configmaps/{name}"))
    }

    /// Creates an object as another tool would (`POST` with that tool's field manager).
    #[track_caller]
    pub fn create(&self, collection: &str, object: &Value, manager: &str) -> Value {
        let path = format!("{collection}?fieldManager={manager}");
        match self.request("POST", &path, "application/json", Some(&object.to_string())) {
            (201, v) => v,
            (code, v) => panic!("POST {path}: HTTP {code}: {v}"),
        }
    }

    /// A merge patch of an object's status, as kubelet reports its node.
    #[track_caller]
    pub fn patch_status(&self, path: &str, status: &Value) {
        let body = serde_json::json!({ "status": status }).to_string();
        let path = format!("{path}/status");
        match self.request("PATCH", &path, "application/merge-patch+json", Some(&body)) {
            (200, _) => {}
            (code, v) => panic!("PATCH {path}: HTTP {code}: {v}"),
        }
    }
}

impl Drop for KubeApiServer {
    fn drop(&mut self) {
        self.stop();
    }
}
