//! A STAND-IN for Docker Hub: its registry (registry-1.docker.io) and its token service
//! (auth.docker.io), for brrt's tests of the pull limit only. Docker Hub cannot be reached from
//! these machines. It speaks the registry protocol as Docker Hub does for a pull, and is strict
//! about it:
//!
//! - Every `/v2/` request needs a bearer token. Without a valid one it answers `401` with
//!   `WWW-Authenticate: Bearer realm="…/token",service="registry.docker.io"` (plus the
//!   `scope="repository:<name>:pull"` the request needs, and `error="insufficient_scope"` or
//!   `error="invalid_token"` when a token was sent).
//! - Its token service issues tokens from that realm (`GET /token?service=…&scope=…`), anonymous
//!   or for an account given by basic auth; wrong credentials get `401 {"details":"incorrect
//!   username or password"}`. A token grants `pull` on the repositories that exist, for 300 s.
//! - Manifest `GET` and `HEAD` answers carry `ratelimit-limit: N;w=W`, `ratelimit-remaining:
//!   R;w=W` and `docker-ratelimit-source` (the address for anonymous pulls, the account's id
//!   for an account's), except for an account without a limit (a paid plan), which gets none.
//!   Only a `GET` of a manifest counts as a pull; once the limit is used up a `GET` gets `429`
//!   with a `TOOMANYREQUESTS` error, while `HEAD` (a version check) still answers.
//! - Anonymous pulls are counted per address, and every client on this machine (brrt, the
//!   cache containers) counts as one address: Docker Hub sees a laptop and its containers
//!   behind one NAT, shown as [`NAT_ADDRESS`]. An account's pulls are counted per account.
//!
//! Where it differs from Docker Hub, and nothing tested depends on it: its realm is on its own
//! host and port (Docker Hub's is https://auth.docker.io/token; distribution v3 follows a realm
//! on the remote's own host only when the remote is an IP address), it speaks plain HTTP, it
//! serves blobs itself rather than redirecting to a CDN, the window never rolls over by itself
//! (a test calls [`DockerHub::new_window`]), and it serves pulls only.

use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The service Docker Hub's token realm names and expects back.
pub const SERVICE: &str = "registry.docker.io";
/// The address Docker Hub sees this machine's anonymous pulls come from (a documentation
/// address, RFC 5737).
pub const NAT_ADDRESS: &str = "203.0.113.7";
/// Docker Hub's window: 6 hours.
pub const WINDOW: u32 = 21_600;
/// How long a token lives, as Docker Hub's do.
const TOKEN_SECONDS: u64 = 300;
/// Docker Hub's words when the limit is used up.
pub const TOO_MANY: &str = "You have reached your pull rate limit. You may increase the limit by \
                            authenticating and upgrading: https://www.docker.com/increase-rate-limits";

/// A Docker Hub account the stand-in knows.
#[derive(Clone)]
pub struct Account {
    pub user: &'static str,
    pub password: &'static str,
    /// Pulls per window; `None` for a paid plan (no limit, no headers).
    pub limit: Option<u32>,
}

/// Who a pull is counted against.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Who {
    /// Anonymous: the NAT's address.
    Anonymous,
    Account(String),
}

struct Token {
    who: Who,
    repos: Vec<String>,
    until: Instant,
}

#[derive(Default)]
struct Repo {
    tags: BTreeMap<String, String>,
    /// digest → (media type, bytes)
    manifests: BTreeMap<String, (String, Vec<u8>)>,
    blobs: BTreeMap<String, Vec<u8>>,
}

struct Hub {
    anonymous_limit: u32,
    accounts: Vec<Account>,
    pulls: HashMap<Who, u32>,
    tokens: HashMap<String, Token>,
    repos: BTreeMap<String, Repo>,
    /// `METHOD path status who`, one per request.
    log: Vec<String>,
    issued: u64,
}

/// A running stand-in; it stops when dropped.
pub struct DockerHub {
    url: String,
    hub: Arc<Mutex<Hub>>,
    stop: Arc<AtomicBool>,
    addr: std::net::SocketAddr,
}

impl DockerHub {
    /// Starts it on `ip` (a port the kernel picks), with `anonymous_limit` pulls per window
    /// for anonymous pulls and the given accounts. It holds `ratelimitpreview/test:latest`,
    /// the repository Docker documents for checking the limit.
    pub fn start(ip: &str, anonymous_limit: u32, accounts: &[Account]) -> DockerHub {
        let listener = TcpListener::bind((ip, 0))
            .unwrap_or_else(|e| panic!("the Docker Hub stand-in cannot listen on {ip}: {e}"));
        let addr = listener
            .local_addr()
            .expect("a bound listener has an address");
        let hub = Arc::new(Mutex::new(Hub {
            anonymous_limit,
            accounts: accounts.to_vec(),
            pulls: HashMap::new(),
            tokens: HashMap::new(),
            repos: BTreeMap::new(),
            log: Vec::new(),
            issued: 0,
        }));
        let stop = Arc::new(AtomicBool::new(false));
        let (h, s) = (hub.clone(), stop.clone());
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if s.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                let h = h.clone();
                std::thread::spawn(move || serve(conn, &h));
            }
        });
        let standin = DockerHub {
            url: format!("http://{addr}"),
            hub,
            stop,
            addr,
        };
        standin.add_image(
            "ratelimitpreview/test",
            "latest",
            &[("test.txt", "ratelimitpreview")],
        );
        standin
    }

    /// Its URL (`http://IP:PORT`): what a cache's remote names.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Adds an image of one layer holding `files` as `repo:tag`; returns its manifest digest.
    pub fn add_image(&self, repo: &str, tag: &str, files: &[(&str, &str)]) -> String {
        let mut layer = tar::Builder::new(Vec::new());
        for (path, text) in files {
            let mut header = tar::Header::new_gnu();
            header.set_size(text.len() as u64);
            header.set_mode(0o644);
            header.set_mtime(0);
            header.set_cksum();
            layer
                .append_data(&mut header, path, text.as_bytes())
                .expect("a tar in memory");
        }
        let layer = layer.into_inner().expect("a tar in memory");
        let arch = match std::env::consts::ARCH {
            "x86_64" => "amd64",
            "aarch64" => "arm64",
            other => other,
        };
        let config = serde_json::to_vec(&serde_json::json!({
            "architecture": arch,
            "os": "linux",
            "config": {},
            "rootfs": {"type": "layers", "diff_ids": [digest(&layer)]},
        }))
        .expect("JSON");
        let manifest = serde_json::to_vec(&serde_json::json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": digest(&config),
                "size": config.len(),
            },
            "layers": [{
                "mediaType": "application/vnd.oci.image.layer.v1.tar",
                "digest": digest(&layer),
                "size": layer.len(),
            }],
        }))
        .expect("JSON");
        let manifest_digest = digest(&manifest);
        let mut hub = self.hub.lock().unwrap();
        let r = hub.repos.entry(repo.to_string()).or_default();
        r.blobs.insert(digest(&config), config);
        r.blobs.insert(digest(&layer), layer);
        r.manifests.insert(
            manifest_digest.clone(),
            (
                "application/vnd.oci.image.manifest.v1+json".into(),
                manifest,
            ),
        );
        r.tags.insert(tag.to_string(), manifest_digest.clone());
        manifest_digest
    }

    /// Pulls counted against `who` in this window.
    pub fn pulls(&self, who: &Who) -> u32 {
        self.hub
            .lock()
            .unwrap()
            .pulls
            .get(who)
            .copied()
            .unwrap_or(0)
    }

    /// Counts `n` pulls against `who` that came from elsewhere: the rest of the team behind
    /// the same NAT, or the account used on another machine.
    pub fn pulled_elsewhere(&self, who: &Who, n: u32) {
        *self
            .hub
            .lock()
            .unwrap()
            .pulls
            .entry(who.clone())
            .or_default() += n;
    }

    /// The window rolls over: every count starts again.
    pub fn new_window(&self) {
        self.hub.lock().unwrap().pulls.clear();
    }

    /// Every request so far, as `METHOD path status who`.
    pub fn requests(&self) -> Vec<String> {
        self.hub.lock().unwrap().log.clone()
    }
}

impl Drop for DockerHub {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wakes the accept loop so that it sees the flag.
        let _ = TcpStream::connect(self.addr);
    }
}

fn digest(bytes: &[u8]) -> String {
    format!("sha256:{:x}", Sha256::digest(bytes))
}

/// A stable id for an account, shaped as Docker Hub's (a UUID).
fn account_id(user: &str) -> String {
    let h = format!("{:x}", Sha256::digest(user.as_bytes()));
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

struct Request {
    method: String,
    path: String,
    query: Vec<(String, String)>,
    headers: BTreeMap<String, String>,
}

struct Response {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Response {
    fn new(status: u16) -> Self {
        Response {
            status,
            headers: vec![(
                "Docker-Distribution-Api-Version".into(),
                "registry/2.0".into(),
            )],
            body: Vec::new(),
        }
    }

    fn header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    fn json(mut self, body: &serde_json::Value) -> Self {
        self.body = serde_json::to_vec(body).expect("JSON");
        self.header("Content-Type", "application/json")
    }

    fn error(status: u16, code: &str, message: &str) -> Self {
        Response::new(status).json(&serde_json::json!({
            "errors": [{"code": code, "message": message, "detail": null}]
        }))
    }
}

/// One connection: one request, one answer, then the connection closes.
fn serve(conn: TcpStream, hub: &Mutex<Hub>) {
    let _ = conn.set_read_timeout(Some(Duration::from_secs(30)));
    let mut reader = BufReader::new(match conn.try_clone() {
        Ok(c) => c,
        Err(_) => return,
    });
    let (response, head_only) = match read_request(&mut reader) {
        Ok(req) => {
            let head = req.method == "HEAD";
            let (resp, who) = answer(&req, hub);
            hub.lock().unwrap().log.push(format!(
                "{} {} {} {}",
                req.method,
                req.path,
                resp.status,
                match who {
                    Some(Who::Account(u)) => u,
                    Some(Who::Anonymous) => "anonymous".into(),
                    None => "-".into(),
                }
            ));
            (resp, head)
        }
        Err(why) => (Response::error(400, "BAD_REQUEST", &why), false),
    };
    let mut out = conn;
    let reason = match response.status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        404 => "Not Found",
        405 => "Method Not Allowed",
        429 => "Too Many Requests",
        _ => "Status",
    };
    let mut text = format!("HTTP/1.1 {} {reason}\r\n", response.status);
    for (k, v) in &response.headers {
        text.push_str(&format!("{k}: {v}\r\n"));
    }
    text.push_str(&format!(
        "Content-Length: {}\r\nConnection: close\r\n\r\n",
        response.body.len()
    ));
    let _ = out.write_all(text.as_bytes());
    if !head_only {
        let _ = out.write_all(&response.body);
    }
    let _ = out.flush();
    let _ = out.shutdown(Shutdown::Write);
    // Lets the client read the answer before the socket goes.
    let _ = reader.read(&mut [0u8; 1]);
}

fn read_request(reader: &mut impl BufRead) -> Result<Request, String> {
    let mut line = String::new();
    reader.read_line(&mut line).map_err(|e| e.to_string())?;
    let mut parts = line.split_whitespace();
    let (Some(method), Some(target), Some(version)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(format!("not an HTTP request line: {line:?}"));
    };
    if !version.starts_with("HTTP/1.") {
        return Err(format!("not HTTP/1.x: {version}"));
    }
    let mut headers = BTreeMap::new();
    loop {
        let mut h = String::new();
        reader.read_line(&mut h).map_err(|e| e.to_string())?;
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        let (k, v) = h
            .split_once(':')
            .ok_or_else(|| format!("not a header: {h:?}"))?;
        headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
    }
    if let Some(n) = headers.get("content-length") {
        let n: usize = n.parse().map_err(|_| "a bad Content-Length".to_string())?;
        let mut body = vec![0u8; n.min(1 << 20)];
        reader.read_exact(&mut body).map_err(|e| e.to_string())?;
    }
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let query = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (unescape(k), unescape(v))
        })
        .collect();
    Ok(Request {
        method: method.to_string(),
        path: path.to_string(),
        query,
        headers,
    })
}

/// `%3A` → `:`, `+` → ` ` (a query string as Go's url.Values writes it).
fn unescape(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                match u8::from_str_radix(hex, 16) {
                    Ok(b) => out.push(b),
                    Err(_) => out.extend_from_slice(&bytes[i..i + 3]),
                }
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The answer to a request, and who it was counted or authorised for.
fn answer(req: &Request, hub: &Mutex<Hub>) -> (Response, Option<Who>) {
    let host = match req.headers.get("host") {
        Some(h) => h.clone(),
        None => return (Response::error(400, "BAD_REQUEST", "no Host header"), None),
    };
    if req.path == "/token" {
        return token(req, hub);
    }
    let Some(rest) = req.path.strip_prefix("/v2/") else {
        return (Response::error(404, "NOT_FOUND", "not found"), None);
    };
    let realm = format!("http://{host}/token");
    // The repository a request is for, and what it asks for.
    let (repo, kind, reference) = if rest.is_empty() {
        (None, "", "")
    } else if let Some((repo, r)) = rest.rsplit_once("/manifests/") {
        (Some(repo), "manifest", r)
    } else if let Some((repo, d)) = rest.rsplit_once("/blobs/") {
        (Some(repo), "blob", d)
    } else {
        return (Response::error(404, "NOT_FOUND", "not found"), None);
    };
    let mut hub = hub.lock().unwrap();
    // The bearer token, and whether it covers the repository.
    let bearer = req
        .headers
        .get("authorization")
        .and_then(|a| a.strip_prefix("Bearer "));
    let token = bearer.and_then(|t| hub.tokens.get(t));
    let valid = token.filter(|t| t.until > Instant::now());
    let challenge = |error: Option<&str>| {
        let mut c = format!("Bearer realm=\"{realm}\",service=\"{SERVICE}\"");
        if let Some(r) = repo {
            c.push_str(&format!(",scope=\"repository:{r}:pull\""));
        }
        if let Some(e) = error {
            c.push_str(&format!(",error=\"{e}\""));
        }
        Response::error(401, "UNAUTHORIZED", "authentication required")
            .header("Www-Authenticate", c)
    };
    let Some(token) = valid else {
        let error = bearer.map(|_| "invalid_token");
        return (challenge(error), None);
    };
    let who = token.who.clone();
    let Some(repo) = repo else {
        return (Response::new(200).json(&serde_json::json!({})), Some(who));
    };
    if !token.repos.iter().any(|r| r == repo) {
        return (challenge(Some("insufficient_scope")), Some(who));
    }
    if req.method != "GET" && req.method != "HEAD" {
        return (
            Response::error(
                405,
                "UNSUPPORTED",
                "the Docker Hub stand-in serves pulls only",
            ),
            Some(who),
        );
    }
    let Some(r) = hub.repos.get(repo) else {
        return (challenge(Some("insufficient_scope")), Some(who));
    };
    if kind == "blob" {
        return match r.blobs.get(reference) {
            Some(b) => {
                let mut resp = Response::new(200)
                    .header("Content-Type", "application/octet-stream")
                    .header("Docker-Content-Digest", reference);
                resp.body = b.clone();
                (resp, Some(who))
            }
            None => (
                Response::error(404, "BLOB_UNKNOWN", "blob unknown to registry"),
                Some(who),
            ),
        };
    }
    let digest = if reference.starts_with("sha256:") {
        Some(reference.to_string())
    } else {
        r.tags.get(reference).cloned()
    };
    let Some((media_type, bytes)) = digest.as_ref().and_then(|d| r.manifests.get(d)).cloned()
    else {
        return (
            Response::error(404, "MANIFEST_UNKNOWN", "manifest unknown"),
            Some(who),
        );
    };
    let digest = digest.expect("found by digest");
    let limit = match &who {
        Who::Anonymous => Some(hub.anonymous_limit),
        Who::Account(user) => hub
            .accounts
            .iter()
            .find(|a| a.user == user)
            .and_then(|a| a.limit),
    };
    let source = match &who {
        Who::Anonymous => NAT_ADDRESS.to_string(),
        Who::Account(user) => account_id(user),
    };
    let used = hub.pulls.get(&who).copied().unwrap_or(0);
    let mut resp = Response::new(200);
    if let Some(limit) = limit {
        if req.method == "GET" && used >= limit {
            let resp = Response::error(429, "TOOMANYREQUESTS", TOO_MANY)
                .header("ratelimit-limit", format!("{limit};w={WINDOW}"))
                .header("ratelimit-remaining", format!("0;w={WINDOW}"))
                .header("docker-ratelimit-source", source);
            return (resp, Some(who));
        }
        let used = if req.method == "GET" {
            *hub.pulls.entry(who.clone()).or_default() += 1;
            used + 1
        } else {
            used
        };
        resp = resp
            .header("ratelimit-limit", format!("{limit};w={WINDOW}"))
            .header(
                "ratelimit-remaining",
                format!("{};w={WINDOW}", limit.saturating_sub(used)),
            )
            .header("docker-ratelimit-source", source);
    } else if req.method == "GET" {
        *hub.pulls.entry(who.clone()).or_default() += 1;
    }
    resp = resp
        .header("Content-Type", media_type)
        .header("Docker-Content-Digest", digest.clone())
        .header("Etag", format!("\"{digest}\""));
    resp.body = bytes;
    (resp, Some(who))
}

/// The token service: `GET /token?service=registry.docker.io&scope=repository:NAME:pull`,
/// anonymous or with basic auth.
fn token(req: &Request, hub: &Mutex<Hub>) -> (Response, Option<Who>) {
    // The token service is no registry: no Docker-Distribution-Api-Version header.
    let answer = |status: u16, body: &serde_json::Value| {
        Response {
            status,
            headers: Vec::new(),
            body: Vec::new(),
        }
        .json(body)
    };
    let plain =
        |status: u16, details: &str| answer(status, &serde_json::json!({ "details": details }));
    if req.method != "GET" {
        return (
            plain(405, "the Docker Hub stand-in issues tokens on GET only"),
            None,
        );
    }
    let param = |k: &'static str| {
        req.query
            .iter()
            .filter(move |(n, _)| n == k)
            .map(|(_, v)| v)
    };
    if param("service").next().map(String::as_str) != Some(SERVICE) {
        return (plain(400, &format!("service must be {SERVICE}")), None);
    }
    let mut hub = hub.lock().unwrap();
    let who = match req.headers.get("authorization") {
        None => Who::Anonymous,
        Some(auth) => {
            use base64::Engine;
            let decoded = auth
                .strip_prefix("Basic ")
                .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
                .and_then(|b| String::from_utf8(b).ok());
            let known = decoded
                .as_deref()
                .and_then(|d| d.split_once(':'))
                .filter(|(u, p)| {
                    hub.accounts
                        .iter()
                        .any(|a| a.user == *u && a.password == *p)
                });
            match known {
                Some((user, _)) => Who::Account(user.to_string()),
                None => return (plain(401, "incorrect username or password"), None),
            }
        }
    };
    let mut repos = Vec::new();
    for scope in param("scope").flat_map(|s| s.split(' ')) {
        let mut parts = scope.splitn(3, ':');
        if let (Some("repository"), Some(name), Some(actions)) =
            (parts.next(), parts.next(), parts.next())
        {
            if actions.split(',').any(|a| a == "pull") && hub.repos.contains_key(name) {
                repos.push(name.to_string());
            }
        }
    }
    hub.issued += 1;
    let token = format!("standin-{}-{:x}", hub.issued, {
        use std::hash::{BuildHasher, Hasher};
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u64(hub.issued);
        h.finish()
    });
    hub.tokens.insert(
        token.clone(),
        Token {
            who: who.clone(),
            repos,
            until: Instant::now() + Duration::from_secs(TOKEN_SECONDS),
        },
    );
    let body = serde_json::json!({
        "token": token,
        "access_token": token,
        "expires_in": TOKEN_SECONDS,
        "issued_at": jiff::Timestamp::now().to_string(),
    });
    (answer(200, &body), Some(who))
}
