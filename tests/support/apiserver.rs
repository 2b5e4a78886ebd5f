//! A stand-in for the Kubernetes API server (no real one can run on these machines): plain
//! HTTP/JSON on a loopback port, or HTTPS with a CA made in the test, serving exactly what brrt
//! asks of a cluster: `/version`, discovery (`/api`, `/api/v1`, `/apis`), ConfigMaps and
//! Namespaces by server-side apply, get and delete, and Nodes (created and marked ready by the
//! `kind` stand-in, as kubelet would register them).
//!
//! It is strict where the real server is: an apply without `Content-Type:
//! application/apply-patch+yaml` gets 415, one without `fieldManager` gets 400, a body that is
//! not a valid object of the URL's kind gets 400 or 422, each with a `Status` object as the real
//! server sends. It keeps what was applied, with the field managers that wrote it, and it can be
//! stopped in the middle of a test.

use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// The namespaces every cluster has.
const NAMESPACES: [&str; 4] = ["default", "kube-public", "kube-system", "kube-node-lease"];

/// What the server holds: objects by (resource, namespace, name), and every request seen.
#[derive(Default)]
struct State {
    objects: BTreeMap<(String, String, String), Value>,
    requests: Vec<String>,
}

/// The TLS side, when the server speaks HTTPS.
struct Tls {
    config: Arc<rustls::ServerConfig>,
    ca_pem: String,
}

/// A running stand-in. Stopped when dropped.
pub struct ApiServer {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
    stopped: Arc<AtomicBool>,
    accept: Option<JoinHandle<()>>,
    ca_pem: Option<String>,
}

impl ApiServer {
    /// Serves plain HTTP on a loopback port the kernel picks.
    pub fn start() -> ApiServer {
        ApiServer::serve(None)
    }

    fn serve(tls: Option<Tls>) -> ApiServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        listener
            .set_nonblocking(true)
            .expect("a non-blocking listener");
        let addr = listener.local_addr().expect("the listener's address");
        let state = Arc::new(Mutex::new(State::default()));
        {
            let mut s = state.lock().unwrap();
            for ns in NAMESPACES {
                s.objects.insert(
                    ("namespaces".into(), String::new(), ns.into()),
                    stored("Namespace", "", ns, json!({}), None),
                );
            }
        }
        let stopped = Arc::new(AtomicBool::new(false));
        let ca_pem = tls.as_ref().map(|t| t.ca_pem.clone());
        let tls = tls.map(|t| t.config);
        let (st, stop) = (state.clone(), stopped.clone());
        let accept = std::thread::spawn(move || {
            while !stop.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        let (st, stop, tls) = (st.clone(), stop.clone(), tls.clone());
                        std::thread::spawn(move || connection(stream, &st, &stop, tls));
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                        std::thread::sleep(Duration::from_millis(10));
                    }
                    Err(_) => break,
                }
            }
            // The listener is dropped here: from now on connections are refused.
        });
        ApiServer {
            addr,
            state,
            stopped,
            accept: Some(accept),
            ca_pem,
        }
    }

    /// `http://127.0.0.1:PORT` or `https://…`.
    pub fn url(&self) -> String {
        let scheme = if self.ca_pem.is_some() {
            "https"
        } else {
            "http"
        };
        format!("{scheme}://{}", self.addr)
    }

    /// Stops answering: the port is closed, and open connections end after their request.
    pub fn stop(&mut self) {
        self.stopped.store(true, Ordering::SeqCst);
        if let Some(t) = self.accept.take() {
            let _ = t.join();
        }
    }

    /// A ConfigMap as the server holds it.
    pub fn config_map(&self, namespace: &str, name: &str) -> Option<Value> {
        self.object("configmaps", namespace, name)
    }

    pub fn object(&self, resource: &str, namespace: &str, name: &str) -> Option<Value> {
        let s = self.state.lock().unwrap();
        s.objects
            .get(&(resource.into(), namespace.into(), name.into()))
            .cloned()
    }
}

impl Drop for ApiServer {
    fn drop(&mut self) {
        self.stop();
    }
}

static RESOURCE_VERSION: AtomicU64 = AtomicU64::new(1000);

/// An object as the server keeps it: type, metadata (with the managers that wrote it), body.
fn stored(kind: &str, namespace: &str, name: &str, body: Value, manager: Option<&str>) -> Value {
    let mut metadata = json!({
        "name": name,
        "uid": format!("stand-in-{kind}-{namespace}-{name}"),
        "resourceVersion": RESOURCE_VERSION.fetch_add(1, Ordering::SeqCst).to_string(),
        "creationTimestamp": "2026-01-01T00:00:00Z",
    });
    if !namespace.is_empty() {
        metadata["namespace"] = namespace.into();
    }
    if let Some(m) = manager {
        metadata["managedFields"] = json!([{
            "manager": m, "operation": "Update", "apiVersion": "v1",
            "time": "2026-01-01T00:00:00Z", "fieldsType": "FieldsV1", "fieldsV1": {}
        }]);
    }
    let mut object = json!({"apiVersion": "v1", "kind": kind, "metadata": metadata});
    if let Value::Object(fields) = body {
        for (k, v) in fields {
            object[k] = v;
        }
    }
    object
}

/// An object's fields other than apiVersion, kind and metadata.
fn strip_identity(object: &Value) -> Value {
    let mut body = object.clone();
    if let Value::Object(m) = &mut body {
        m.remove("apiVersion");
        m.remove("kind");
        m.remove("metadata");
    }
    body
}

/// A request as read off the wire.
struct Request {
    method: String,
    path: String,
    query: BTreeMap<String, String>,
    headers: BTreeMap<String, String>,
    body: Vec<u8>,
}

/// An answer: status code and JSON body.
type Answer = (u16, Value);

fn connection(
    stream: TcpStream,
    state: &Mutex<State>,
    stopped: &AtomicBool,
    tls: Option<Arc<rustls::ServerConfig>>,
) {
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_read_timeout(Some(Duration::from_millis(200)));
    match tls {
        Some(config) => {
            let Ok(conn) = rustls::ServerConnection::new(config) else {
                return;
            };
            serve_requests(rustls::StreamOwned::new(conn, stream), state, stopped);
        }
        None => serve_requests(stream, state, stopped),
    }
}

/// Answers requests on one connection (HTTP/1.1 keep-alive) until the client closes it or the
/// server stops.
fn serve_requests(stream: impl Read + Write, state: &Mutex<State>, stopped: &AtomicBool) {
    let mut reader = BufReader::new(stream);
    loop {
        let request = loop {
            if stopped.load(Ordering::SeqCst) {
                return;
            }
            match read_request(&mut reader) {
                Ok(Some(r)) => break r,
                Ok(None) => return,
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
                {
                    continue
                }
                Err(_) => return,
            }
        };
        let shown = if request.query.is_empty() {
            format!("{} {}", request.method, request.path)
        } else {
            let q: Vec<String> = request
                .query
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            format!("{} {}?{}", request.method, request.path, q.join("&"))
        };
        let (code, body) = {
            let mut s = state.lock().unwrap();
            s.requests.push(shown);
            handle(&mut s, &request)
        };
        let close = request
            .headers
            .get("connection")
            .is_some_and(|c| c.eq_ignore_ascii_case("close"));
        let text = body.to_string();
        let reason = match code {
            200 => "OK",
            201 => "Created",
            404 => "Not Found",
            409 => "Conflict",
            415 => "Unsupported Media Type",
            422 => "Unprocessable Entity",
            _ => "Bad Request",
        };
        let out = reader.get_mut();
        let written = write!(
            out,
            "HTTP/1.1 {code} {reason}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{text}",
            text.len()
        )
        .and_then(|()| out.flush());
        if written.is_err() || close {
            return;
        }
    }
}

/// One request, or `None` when the client closed the connection.
fn read_request(reader: &mut impl BufRead) -> std::io::Result<Option<Request>> {
    let mut line = String::new();
    if reader.read_line(&mut line)? == 0 {
        return Ok(None);
    }
    let mut parts = line.split_whitespace();
    let (Some(method), Some(target)) = (parts.next(), parts.next()) else {
        return Ok(None);
    };
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let query = query
        .split('&')
        .filter(|q| !q.is_empty())
        .map(|q| {
            let (k, v) = q.split_once('=').unwrap_or((q, ""));
            (k.to_string(), v.replace("%2F", "/"))
        })
        .collect();
    let mut headers = BTreeMap::new();
    loop {
        let mut h = String::new();
        // A header line that times out half-read would be lost; headers arrive with the line.
        reader.read_line(&mut h)?;
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
        }
    }
    let mut body = Vec::new();
    if let Some(len) = headers
        .get("content-length")
        .and_then(|l| l.parse::<usize>().ok())
    {
        body.resize(len, 0);
        reader.read_exact(&mut body)?;
    } else if headers
        .get("transfer-encoding")
        .is_some_and(|t| t.contains("chunked"))
    {
        loop {
            let mut size = String::new();
            reader.read_line(&mut size)?;
            let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
            let mut chunk = vec![0; n + 2];
            reader.read_exact(&mut chunk)?;
            if n == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..n]);
        }
    }
    Ok(Some(Request {
        method: method.to_string(),
        path: path.to_string(),
        query,
        headers,
        body,
    }))
}

/// A `Status` answer, as the real server sends for a failure.
fn status(code: u16, reason: &str, message: &str) -> Answer {
    (
        code,
        json!({
            "kind": "Status", "apiVersion": "v1", "metadata": {},
            "status": "Failure", "message": message, "reason": reason, "code": code
        }),
    )
}

fn not_found(resource: &str, name: &str) -> Answer {
    status(404, "NotFound", &format!("{resource} \"{name}\" not found"))
}

/// The resources this stand-in serves: name, kind, namespaced.
const RESOURCES: [(&str, &str, bool); 3] = [
    ("configmaps", "ConfigMap", true),
    ("namespaces", "Namespace", false),
    ("nodes", "Node", false),
];

fn discovery() -> Value {
    let mut resources: Vec<Value> = RESOURCES
        .iter()
        .map(|(name, kind, namespaced)| {
            json!({
                "name": name, "singularName": kind.to_ascii_lowercase(), "namespaced": namespaced,
                "kind": kind, "verbs": ["create", "delete", "get", "list", "patch", "update"]
            })
        })
        .collect();
    resources.push(json!({
        "name": "nodes/status", "singularName": "", "namespaced": false, "kind": "Node",
        "verbs": ["get", "patch", "update"]
    }));
    json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": "v1", "resources": resources})
}

fn handle(state: &mut State, req: &Request) -> Answer {
    let segments: Vec<&str> = req.path.trim_matches('/').split('/').collect();
    match (req.method.as_str(), segments.as_slice()) {
        ("GET", ["version"]) => (
            200,
            json!({
                "major": "1", "minor": "33", "gitVersion": "v1.33.1-brrt-standin",
                "gitCommit": "0000000", "gitTreeState": "clean", "buildDate": "2026-01-01T00:00:00Z",
                "goVersion": "go1.24", "compiler": "gc", "platform": "linux/amd64"
            }),
        ),
        ("GET", ["api"]) => (
            200,
            json!({"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": []}),
        ),
        ("GET", ["api", "v1"]) => (200, discovery()),
        ("GET", ["apis"]) => (
            200,
            json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": []}),
        ),
        (_, ["api", "v1", "namespaces", ns, resource, name]) if *resource == "configmaps" => {
            if !state
                .objects
                .contains_key(&("namespaces".into(), String::new(), ns.to_string()))
            {
                return not_found("namespaces", ns);
            }
            object(state, req, resource, ns, name)
        }
        (_, ["api", "v1", resource, name]) if *resource == "namespaces" || *resource == "nodes" => {
            object(state, req, resource, "", name)
        }
        ("PUT" | "PATCH", ["api", "v1", "nodes", name, "status"]) => {
            node_status_update(state, req, name)
        }
        ("GET", ["api", "v1", "nodes"]) => {
            let items: Vec<Value> = state
                .objects
                .iter()
                .filter(|((r, _, _), _)| r == "nodes")
                .map(|(_, v)| v.clone())
                .collect();
            (
                200,
                json!({"kind": "NodeList", "apiVersion": "v1", "metadata": {"resourceVersion": "1"}, "items": items}),
            )
        }
        ("POST", ["api", "v1", "nodes"]) => node_create(state, req),
        _ => status(
            404,
            "NotFound",
            "the server could not find the requested resource",
        ),
    }
}

fn kind_of(resource: &str) -> &'static str {
    RESOURCES
        .iter()
        .find(|(r, _, _)| *r == resource)
        .map_or("", |(_, k, _)| k)
}

fn object(state: &mut State, req: &Request, resource: &str, ns: &str, name: &str) -> Answer {
    let key = (resource.to_string(), ns.to_string(), name.to_string());
    match req.method.as_str() {
        "GET" => match state.objects.get(&key) {
            Some(o) => (200, o.clone()),
            None => not_found(resource, name),
        },
        "DELETE" => match state.objects.remove(&key) {
            Some(_) => (
                200,
                json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                       "details": {"name": name, "kind": resource}}),
            ),
            None => not_found(resource, name),
        },
        "PATCH" => apply(state, req, resource, ns, name),
        other => status(
            405,
            "MethodNotAllowed",
            &format!("the server does not allow {other} here"),
        ),
    }
}

/// Server-side apply, checked as the real server checks it.
fn apply(state: &mut State, req: &Request, resource: &str, ns: &str, name: &str) -> Answer {
    let content_type = req.headers.get("content-type").map_or("", String::as_str);
    if content_type != "application/apply-patch+yaml" {
        return status(
            415,
            "UnsupportedMediaType",
            &format!("the body of the request was in an unknown format - accepted media types include: application/apply-patch+yaml (got {content_type:?})"),
        );
    }
    let Some(manager) = req.query.get("fieldManager").filter(|m| !m.is_empty()) else {
        return status(
            400,
            "BadRequest",
            "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply patch",
        );
    };
    let text = String::from_utf8_lossy(&req.body);
    let body: Value = match yaml_serde::from_str(&text) {
        Ok(v) => v,
        Err(e) => return status(400, "BadRequest", &format!("error decoding YAML: {e}")),
    };
    let kind = kind_of(resource);
    if body["apiVersion"] != "v1" || body["kind"] != kind {
        return status(
            400,
            "BadRequest",
            &format!(
                "the body is a {}/{}, not a v1/{kind} as the URL says",
                body["apiVersion"].as_str().unwrap_or("?"),
                body["kind"].as_str().unwrap_or("?")
            ),
        );
    }
    if body["metadata"]["name"] != name {
        return status(
            400,
            "BadRequest",
            &format!(
                "the name of the object ({}) does not match the name on the URL ({name})",
                body["metadata"]["name"]
            ),
        );
    }
    if !ns.is_empty()
        && !body["metadata"]["namespace"].is_null()
        && body["metadata"]["namespace"] != ns
    {
        return status(
            400,
            "BadRequest",
            "the namespace of the provided object does not match the namespace sent on the request",
        );
    }
    let allowed: &[&str] = match kind {
        "ConfigMap" => &[
            "apiVersion",
            "kind",
            "metadata",
            "data",
            "binaryData",
            "immutable",
        ],
        _ => &["apiVersion", "kind", "metadata", "spec"],
    };
    if let Some(extra) = body
        .as_object()
        .and_then(|o| o.keys().find(|k| !allowed.contains(&k.as_str())))
    {
        return status(
            400,
            "BadRequest",
            &format!(".{extra}: field not declared in schema"),
        );
    }
    if kind == "ConfigMap" {
        if let Some(data) = body.get("data") {
            let Some(map) = data.as_object() else {
                return status(
                    422,
                    "Invalid",
                    &format!("ConfigMap \"{name}\" is invalid: data: must be a map of strings"),
                );
            };
            if let Some((k, _)) = map.iter().find(|(_, v)| !v.is_string()) {
                return status(
                    422,
                    "Invalid",
                    &format!("ConfigMap \"{name}\" is invalid: data[{k}]: Invalid value: must be a string"),
                );
            }
        }
    }
    let key = (resource.to_string(), ns.to_string(), name.to_string());
    let force = req.query.get("force").is_some_and(|f| f == "true");
    let existing = state.objects.get(&key).cloned();
    let code = if existing.is_some() { 200 } else { 201 };
    let mut object = existing.unwrap_or_else(|| stored(kind, ns, name, json!({}), None));
    let managers = object["metadata"]["managedFields"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let others: Vec<String> = managers
        .iter()
        .filter_map(|m| m["manager"].as_str())
        .filter(|m| m != manager)
        .map(String::from)
        .collect();
    let body_fields = strip_identity(&body);
    if !force && !others.is_empty() {
        let conflicting = body_fields
            .as_object()
            .into_iter()
            .flatten()
            .any(|(k, v)| object.get(k).is_some_and(|have| have != v));
        if conflicting {
            return status(
                409,
                "Conflict",
                &format!(
                    "Apply failed with 1 conflict: conflict with \"{}\"",
                    others[0]
                ),
            );
        }
    }
    for (k, v) in body_fields.as_object().into_iter().flatten() {
        object[k] = v.clone();
    }
    let mut kept: Vec<Value> = if force {
        Vec::new()
    } else {
        managers
            .into_iter()
            .filter(|m| m["manager"] != manager.as_str())
            .collect()
    };
    kept.push(json!({
        "manager": manager, "operation": "Apply", "apiVersion": "v1",
        "time": "2026-01-01T00:00:00Z", "fieldsType": "FieldsV1", "fieldsV1": {}
    }));
    object["metadata"]["managedFields"] = Value::Array(kept);
    object["metadata"]["resourceVersion"] = RESOURCE_VERSION
        .fetch_add(1, Ordering::SeqCst)
        .to_string()
        .into();
    state.objects.insert(key, object.clone());
    (code, object)
}

/// `POST /api/v1/nodes`: how kubelet (here, the kind stand-in) registers a node.
fn node_create(state: &mut State, req: &Request) -> Answer {
    let body: Value = match serde_json::from_slice(&req.body) {
        Ok(v) => v,
        Err(e) => return status(400, "BadRequest", &format!("error decoding JSON: {e}")),
    };
    let Some(name) = body["metadata"]["name"].as_str().filter(|n| !n.is_empty()) else {
        return status(
            422,
            "Invalid",
            "Node \"\" is invalid: metadata.name: Required value",
        );
    };
    if body["kind"] != "Node" {
        return status(400, "BadRequest", "the body is not a Node");
    }
    let key = ("nodes".to_string(), String::new(), name.to_string());
    if state.objects.contains_key(&key) {
        return status(
            409,
            "AlreadyExists",
            &format!("nodes \"{name}\" already exists"),
        );
    }
    let object = stored("Node", "", name, strip_identity(&body), Some("kubelet"));
    state.objects.insert(key, object.clone());
    (201, object)
}

/// `PUT` or `PATCH /api/v1/nodes/NAME/status`: kubelet reporting the node's conditions.
fn node_status_update(state: &mut State, req: &Request, name: &str) -> Answer {
    let body: Value = match serde_json::from_slice(&req.body) {
        Ok(v) => v,
        Err(e) => return status(400, "BadRequest", &format!("error decoding JSON: {e}")),
    };
    let key = ("nodes".to_string(), String::new(), name.to_string());
    let Some(object) = state.objects.get_mut(&key) else {
        return not_found("nodes", name);
    };
    object["status"] = body["status"].clone();
    (200, object.clone())
}
