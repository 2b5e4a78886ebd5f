//! The one `HEAD` that reads the limit, after the token dance a cache makes (a `401`, then a
//! token from the realm, anonymous or with the account's credentials), tokens kept for reuse.

use super::headers::{parse_challenge, parse_quota, realm_may_have_credentials};
use crate::ops::registry::manifest::ACCEPT as MANIFEST_TYPES;
use crate::ops::registry::USER_AGENT;
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The repository and tag Docker documents for reading the limit.
pub const PROBE_REPO: &str = "ratelimitpreview/test";
const PROBE_TAG: &str = "latest";
/// How long the whole check may take: it runs on every dev-up.
const TIMEOUT: Duration = Duration::from_secs(10);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// The shortest time a token is kept, as distribution keeps them.
const MIN_TOKEN_SECONDS: u64 = 60;

/// A token fetched in this process, kept for its lifetime: `--watch` checks on every save,
/// and a kept token spares the `401` and the token service.
#[derive(Clone)]
struct Kept {
    token: String,
    until: Instant,
    /// Whether it was issued for the account's credentials.
    as_account: bool,
}

/// Tokens by remote and user.
static TOKENS: Mutex<BTreeMap<String, Kept>> = Mutex::new(BTreeMap::new());

/// Why the check could not read the figures.
pub(super) enum Failure {
    /// The remote (or its token service) did not answer.
    Unreachable(String),
    /// The token service refused the credentials.
    Refused { realm: String, said: String },
    /// An answer the check cannot use.
    Unexpected(String),
}

/// What the final `HEAD` answered: its rate-limit headers, and whether an account's token was
/// used.
pub(super) struct Answer {
    pub(super) limit: Option<(u64, Option<u64>)>,
    pub(super) remaining: Option<(u64, Option<u64>)>,
    pub(super) source: Option<String>,
    pub(super) as_account: bool,
}

/// The `HEAD` of the probe manifest, with the token dance when the remote asks for it.
pub(super) async fn ask(
    remote: &str,
    credentials: Option<&(String, String)>,
) -> Result<Answer, Failure> {
    // One client for the process: under --watch its connections are kept between checks.
    static CLIENT: std::sync::OnceLock<reqwest::Client> = std::sync::OnceLock::new();
    let http = match CLIENT.get() {
        Some(c) => c,
        None => {
            let built = crate::ops::http_client::builder()
                .timeout(TIMEOUT)
                .connect_timeout(CONNECT_TIMEOUT)
                .user_agent(USER_AGENT)
                .build()
                .map_err(|e| Failure::Unexpected(e.to_string()))?;
            CLIENT.get_or_init(|| built)
        }
    };
    let url = format!("{remote}/v2/{PROBE_REPO}/manifests/{PROBE_TAG}");
    let remote_url =
        reqwest::Url::parse(remote).map_err(|e| Failure::Unexpected(format!("{remote}: {e}")))?;
    let head = |auth: Option<String>| {
        let mut req = http.head(&url).header("Accept", MANIFEST_TYPES);
        if let Some(a) = auth {
            req = req.header("Authorization", a);
        }
        req.send()
    };
    let unreachable = |e: reqwest::Error| {
        Failure::Unreachable(format!(
            "{remote} cannot be reached from this machine ({})",
            reason(&e)
        ))
    };
    let key = format!(
        "{remote} {}",
        credentials.map_or(String::new(), |(u, _)| u.clone())
    );
    let kept = TOKENS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .get(&key)
        .filter(|k| k.until > Instant::now())
        .cloned();
    let first = head(kept.as_ref().map(|k| format!("Bearer {}", k.token)))
        .await
        .map_err(unreachable)?;
    if first.status() != reqwest::StatusCode::UNAUTHORIZED {
        return Ok(read(&first, kept.is_some_and(|k| k.as_account)));
    }
    let challenge = first
        .headers()
        .get_all("www-authenticate")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .map(parse_challenge)
        .find(|(scheme, _)| scheme == "bearer" || scheme == "basic");
    let Some((scheme, params)) = challenge else {
        return Err(Failure::Unexpected(format!(
            "{remote} answered 401 without a challenge brrt can follow"
        )));
    };
    if scheme == "basic" {
        let Some((user, pass)) = credentials else {
            return Ok(read(&first, false));
        };
        use base64::Engine;
        let basic = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"));
        let again = head(Some(format!("Basic {basic}")))
            .await
            .map_err(unreachable)?;
        if again.status() == reqwest::StatusCode::UNAUTHORIZED {
            return Err(Failure::Refused {
                realm: remote.to_string(),
                said: "401 Unauthorized".into(),
            });
        }
        return Ok(read(&again, true));
    }
    let realm = params.get("realm").ok_or_else(|| {
        Failure::Unexpected(format!(
            "{remote} asked for a token without naming its realm"
        ))
    })?;
    let mut token_url = reqwest::Url::parse(realm)
        .map_err(|e| Failure::Unexpected(format!("{remote} named the realm {realm:?}: {e}")))?;
    let scope = params
        .get("scope")
        .cloned()
        .unwrap_or_else(|| format!("repository:{PROBE_REPO}:pull"));
    {
        let mut q = token_url.query_pairs_mut();
        if let Some(service) = params.get("service") {
            q.append_pair("service", service);
        }
        q.append_pair("scope", &scope);
    }
    let send_credentials =
        credentials.filter(|_| realm_may_have_credentials(&remote_url, &token_url));
    let kept = fetch_token(http, token_url, realm, send_credentials).await?;
    TOKENS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .insert(key, kept.clone());
    let token = kept.token;
    let answer = head(Some(format!("Bearer {token}")))
        .await
        .map_err(unreachable)?;
    if answer.status() == reqwest::StatusCode::UNAUTHORIZED {
        return Err(Failure::Unexpected(format!(
            "{remote} did not take the token from {realm} (401)"
        )));
    }
    Ok(read(&answer, send_credentials.is_some()))
}

/// A token from the token service at `token_url` (the realm, with service and scope), with
/// basic auth when `credentials` are given.
async fn fetch_token(
    http: &reqwest::Client,
    token_url: reqwest::Url,
    realm: &str,
    credentials: Option<&(String, String)>,
) -> Result<Kept, Failure> {
    let mut req = http.get(token_url);
    if let Some((user, pass)) = credentials {
        req = req.basic_auth(user, Some(pass));
    }
    let resp = req.send().await.map_err(|e| {
        Failure::Unreachable(format!(
            "its token service {realm} cannot be reached from this machine ({})",
            reason(&e)
        ))
    })?;
    let status = resp.status();
    let body = resp.bytes().await.unwrap_or_default();
    let json: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    if status == reqwest::StatusCode::UNAUTHORIZED && credentials.is_some() {
        let said = json["details"]
            .as_str()
            .or_else(|| json["errors"][0]["message"].as_str())
            .map_or_else(
                || status.to_string(),
                |d| format!("{} {d}", status.as_u16()),
            );
        return Err(Failure::Refused {
            realm: realm.to_string(),
            said,
        });
    }
    if !status.is_success() {
        return Err(Failure::Unexpected(format!(
            "the token service {realm} answered {status}"
        )));
    }
    let token = json["token"]
        .as_str()
        .or_else(|| json["access_token"].as_str())
        .filter(|t| !t.is_empty())
        .ok_or_else(|| Failure::Unexpected(format!("the token service {realm} sent no token")))?
        .to_string();
    let life = json["expires_in"]
        .as_u64()
        .unwrap_or(0)
        .max(MIN_TOKEN_SECONDS);
    Ok(Kept {
        token,
        until: Instant::now() + Duration::from_secs(life),
        as_account: credentials.is_some(),
    })
}

fn read(resp: &reqwest::Response, as_account: bool) -> Answer {
    let header = |name: &str| {
        resp.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    Answer {
        limit: header("ratelimit-limit").as_deref().and_then(parse_quota),
        remaining: header("ratelimit-remaining")
            .as_deref()
            .and_then(parse_quota),
        source: header("docker-ratelimit-source"),
        as_account,
    }
}

/// What a failed request says, innermost cause included.
fn reason(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        return format!("no answer within {} s", TIMEOUT.as_secs());
    }
    let mut inner: &dyn std::error::Error = e;
    while let Some(next) = inner.source() {
        inner = next;
    }
    inner.to_string()
}
