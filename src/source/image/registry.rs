//! The OCI distribution (registry) client: manifests and blobs of one repository over HTTP(S).
//!
//! This module owns the wire protocol only: URLs, `Accept` headers, the auth flow (anonymous first;
//! on a 401 the `WWW-Authenticate` challenge decides: Bearer tokens from the registry's token
//! server, or Basic credentials), timeouts, and error messages that name the registry and say what
//! went wrong. It does not choose a platform, verify digests or cache anything on disk: the caller
//! does. Credentials come from [`super::auth`], looked up lazily, only when a challenge asks.
//!
//! One [`Client`] serves one repository and is shared by the threads that fetch its blobs; the
//! token it got is kept behind a mutex and reused until the registry answers 401 again, when the
//! flow is re-done once.

use std::io::Read;
use std::sync::Mutex;
use std::time::Duration;

use ureq::ResponseExt as _;
use ureq::http::{Response, StatusCode};

use super::auth::{self, AuthError};
use super::reference;

/// Largest manifest or index accepted (the distribution spec's recommended limit).
pub const MANIFEST_LIMIT: u64 = 4 << 20;

/// Largest token-server answer and largest error body read.
const SMALL_BODY_LIMIT: u64 = 1 << 20;

/// The media types asked for when fetching a manifest by tag or digest.
pub const MANIFEST_ACCEPT: &str = "application/vnd.oci.image.manifest.v1+json, \
     application/vnd.oci.image.index.v1+json, \
     application/vnd.docker.distribution.manifest.v2+json, \
     application/vnd.docker.distribution.manifest.list.v2+json";

/// A user name and password for a registry.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The user name.
    pub username: String,
    /// The password or access token.
    pub password: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// How to talk to a registry.
#[derive(Clone, Debug)]
pub struct RegistryOptions {
    /// Plain HTTP (loopback registries); otherwise HTTPS with the webpki roots.
    pub insecure: bool,
    /// Credentials from `--creds USER:PASS`; they override the config files.
    pub creds: Option<Credentials>,
    /// The connect timeout, and the longest silence tolerated while waiting for or reading an answer.
    pub timeout: Duration,
}

impl Default for RegistryOptions {
    fn default() -> Self {
        RegistryOptions {
            insecure: false,
            creds: None,
            timeout: Duration::from_secs(30),
        }
    }
}

/// A manifest (or index) as the registry sent it.
#[derive(Clone, Debug)]
pub struct Fetched {
    /// The exact bytes (the digest covers these).
    pub body: Vec<u8>,
    /// `Content-Type` without parameters.
    pub media_type: Option<String>,
    /// The `Docker-Content-Digest` header, when sent.
    pub digest: Option<String>,
}

/// What went wrong talking to a registry. Every message names the registry or URL.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// The registry name, repository or reference cannot be used in a URL.
    #[error("invalid {what} {value:?}{}: {reason}", for_registry(what, registry))]
    Invalid {
        /// The registry.
        registry: String,
        /// "registry", "repository", "reference" or "digest".
        what: &'static str,
        /// The value.
        value: String,
        /// Why.
        reason: &'static str,
    },
    /// The registry answered with an error status (other than a 401 the auth flow handles).
    #[error("GET {url}: HTTP {status}{}{}", reason_phrase(*status), detail_suffix(detail))]
    Status {
        /// The URL asked.
        url: String,
        /// The HTTP status code.
        status: u16,
        /// The registry's error JSON as `CODE: message` (or a text snippet), when present.
        detail: Option<String>,
    },
    /// The registry still refused after authenticating, or authentication could not be done.
    #[error("authentication failed for {registry}: {reason}")]
    Auth {
        /// The registry.
        registry: String,
        /// What happened.
        reason: String,
    },
    /// Credentials could not be looked up.
    #[error("credentials for {registry}: {source}")]
    Credentials {
        /// The registry.
        registry: String,
        /// The lookup error.
        source: AuthError,
    },
    /// No answer, or silence longer than the timeout.
    #[error("GET {url}: timed out ({what} took longer than {} s)", timeout.as_secs_f64())]
    Timeout {
        /// The URL asked.
        url: String,
        /// Which step: "connecting", "waiting for data"...
        what: &'static str,
        /// The configured timeout.
        timeout: Duration,
    },
    /// The connection or the HTTP exchange failed.
    #[error("GET {url}: {reason}")]
    Transport {
        /// The URL asked.
        url: String,
        /// The transport's error.
        reason: String,
    },
    /// A body larger than allowed.
    #[error("GET {url}: response body larger than {limit} bytes")]
    TooLarge {
        /// The URL asked.
        url: String,
        /// The limit.
        limit: u64,
    },
    /// The connection ended before the announced `Content-Length`.
    #[error("GET {url}: connection closed after {received} of {expected} bytes")]
    ShortBody {
        /// The URL asked.
        url: String,
        /// Bytes received.
        received: u64,
        /// Bytes announced.
        expected: u64,
    },
    /// The registry or its token server sent something that does not follow the protocol.
    #[error("{url}: {reason}")]
    Protocol {
        /// The URL involved.
        url: String,
        /// What was wrong.
        reason: String,
    },
}

/// ` for registry HOST`, unless the value is the registry itself.
fn for_registry(what: &str, registry: &str) -> String {
    if what.starts_with("registry") {
        String::new()
    } else {
        format!(" for registry {registry}")
    }
}

fn reason_phrase(status: u16) -> String {
    StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .map(|r| format!(" {r}"))
        .unwrap_or_default()
}

fn detail_suffix(detail: &Option<String>) -> String {
    match detail {
        Some(d) => format!(": {d}"),
        None => String::new(),
    }
}

/// What to send in `Authorization`, learned from the last challenge.
#[derive(Clone)]
enum AuthState {
    /// Nothing yet: requests go out anonymous.
    Anonymous,
    /// `Basic <base64>`, for `user`.
    Basic { encoded: String, user: String },
    /// A token from the token server, issued to `user` (`None`: anonymous).
    Bearer { token: String, user: Option<String> },
}

impl AuthState {
    fn header(&self) -> Option<String> {
        match self {
            AuthState::Anonymous => None,
            AuthState::Basic { encoded, .. } => Some(format!("Basic {encoded}")),
            AuthState::Bearer { token, .. } => Some(format!("Bearer {token}")),
        }
    }

    /// What was sent and a hint, for the error message when the registry refused it.
    fn describe(&self) -> (String, &'static str) {
        match self {
            AuthState::Anonymous => ("an anonymous request".into(), "credentials are needed"),
            AuthState::Basic { user, .. } => (
                format!("the password of {user:?}"),
                "wrong user name or password?",
            ),
            AuthState::Bearer {
                user: Some(user), ..
            } => (
                format!("a token issued to {user:?}"),
                "no pull access to the repository, or it does not exist?",
            ),
            AuthState::Bearer { user: None, .. } => (
                "an anonymous token".into(),
                "no credentials given: use --creds USER:PASS or log in with docker/podman/skopeo",
            ),
        }
    }
}

/// A client for one repository of one registry. `Send + Sync`: share it between threads.
pub struct Client {
    agent: ureq::Agent,
    /// The registry as written in the reference (error messages, credential lookup).
    registry: String,
    /// `http://host[:port]` or `https://host[:port]`: the real endpoint.
    base: String,
    /// `host[:port]` of the endpoint, to recognise answers from elsewhere after a redirect.
    host: String,
    repository: String,
    options: RegistryOptions,
    auth: Mutex<AuthState>,
    /// Credentials, once looked up (`Some(None)`: looked up, there are none).
    creds: Mutex<Option<Option<Credentials>>>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("base", &self.base)
            .field("repository", &self.repository)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A client for `repository` (the full path, e.g. `library/alpine`) on `registry` as written in
    /// the image reference (`docker.io` means Docker Hub, served at `registry-1.docker.io`;
    /// `localhost:5000`, `quay.io`...). No request is made yet.
    pub fn new(
        registry: &str,
        repository: &str,
        options: &RegistryOptions,
    ) -> Result<Client, RegistryError> {
        let invalid = |what, value: &str, reason| RegistryError::Invalid {
            registry: registry.to_string(),
            what,
            value: value.to_string(),
            reason,
        };
        if !reference::valid_host(registry) {
            return Err(invalid(
                "registry host",
                registry,
                "expected a DNS name or IP address with an optional :PORT",
            ));
        }
        if !reference::valid_repository(repository) {
            return Err(invalid(
                "repository",
                repository,
                "expected lowercase alphanumerics joined by . _ __ or -, between slashes",
            ));
        }
        let host = match registry {
            "docker.io" | "index.docker.io" => "registry-1.docker.io".to_string(),
            other => other.to_ascii_lowercase(),
        };
        let scheme = if options.insecure { "http" } else { "https" };
        // Timeouts. ureq's `timeout_recv_body` and `timeout_global` are totals: they would cap the
        // time a legitimately large blob may take on a slow link. `timeout_per_read` restarts with
        // every read from the socket (headers, body, TLS), so it bounds silence, not size: a
        // registry that stops sending mid-blob fails after `timeout` without data, however long
        // the download has been running. Connecting (DNS, TCP, TLS handshake) has its own bound.
        let t = Some(options.timeout);
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .https_only(!options.insecure)
            .timeout_resolve(t)
            .timeout_connect(t)
            .timeout_per_read(t)
            .timeout_per_write(t)
            .max_redirects(5)
            // Keep `Authorization` on redirects to the same host (and scheme); drop it for any
            // other host (blob storage behind a CDN gets a signed URL, never our token).
            .redirect_auth_headers(ureq::config::RedirectAuthHeaders::SameHost)
            // No Accept-Encoding: bodies are hashed as sent, so ask for them unencoded.
            .accept_encoding(ureq::config::AutoHeaderValue::None)
            .user_agent(concat!("rootsift/", env!("CARGO_PKG_VERSION")))
            .build();
        Ok(Client {
            agent: config.new_agent(),
            registry: registry.to_string(),
            base: format!("{scheme}://{host}"),
            host,
            repository: repository.to_string(),
            options: options.clone(),
            auth: Mutex::new(AuthState::Anonymous),
            creds: Mutex::new(None),
        })
    }

    /// The registry as given to [`Client::new`].
    pub fn registry(&self) -> &str {
        &self.registry
    }

    /// The repository as given to [`Client::new`].
    pub fn repository(&self) -> &str {
        &self.repository
    }

    /// `GET /v2/<repo>/manifests/<reference>` (a tag or a digest), accepting OCI manifests and
    /// indexes and Docker schema 2 manifests and manifest lists. At most [`MANIFEST_LIMIT`] bytes.
    pub fn manifest(&self, reference: &str) -> Result<Fetched, RegistryError> {
        if !reference::valid_tag(reference) && !valid_digest(reference) {
            return Err(RegistryError::Invalid {
                registry: self.registry.clone(),
                what: "reference",
                value: reference.to_string(),
                reason: "expected a tag ([A-Za-z0-9_][A-Za-z0-9_.-]{0,127}) or algorithm:hex digest",
            });
        }
        let url = format!(
            "{}/v2/{}/manifests/{}",
            self.base, self.repository, reference
        );
        let response = self.get(&url, Some(MANIFEST_ACCEPT))?;
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let media_type = header("content-type")
            .map(|ct| ct.split(';').next().unwrap_or("").trim().to_string())
            .filter(|ct| !ct.is_empty());
        let digest = header("docker-content-digest").map(|d| d.trim().to_string());
        let body = read_limited(response, &url, MANIFEST_LIMIT)?;
        Ok(Fetched {
            body,
            media_type,
            digest,
        })
    }

    /// `GET /v2/<repo>/blobs/<digest>` as a stream; redirects are followed (without the
    /// `Authorization` header when they lead to another host). The caller verifies the digest.
    ///
    /// Read errors are `io::Error`s wrapping a [`RegistryError`] (`Timeout`, `ShortBody`,
    /// `Transport`), so `e.get_ref()` can be downcast for detail; their messages name the URL.
    pub fn blob(&self, digest: &str) -> Result<Box<dyn Read + Send>, RegistryError> {
        if !valid_digest(digest) {
            return Err(RegistryError::Invalid {
                registry: self.registry.clone(),
                what: "digest",
                value: digest.to_string(),
                reason: "expected algorithm:hex",
            });
        }
        let url = format!("{}/v2/{}/blobs/{}", self.base, self.repository, digest);
        let response = self.get(&url, None)?;
        let expected = content_length(&response);
        let timeout = self.options.timeout;
        Ok(Box::new(BlobReader {
            inner: response.into_body().into_reader(),
            url,
            expected,
            received: 0,
            timeout,
        }))
    }

    /// GETs `url`, doing the auth flow on a 401 (once per call). Returns a 2xx response; any other
    /// status becomes an error carrying the registry's error message.
    fn get(&self, url: &str, accept: Option<&str>) -> Result<Response<ureq::Body>, RegistryError> {
        let mut authenticated_here = false;
        loop {
            let state = self.auth_state();
            let send = || {
                let mut request = self.agent.get(url);
                if let Some(accept) = accept {
                    request = request.header("Accept", accept);
                }
                if let Some(value) = state.header() {
                    request = request.header("Authorization", value);
                }
                request.call()
            };
            // A kept-alive connection the server has closed since its last answer fails the
            // next request before any response; a GET is safe to send again, once, on a new one.
            let response = match send() {
                Err(e) if stale_connection(&e) => send(),
                sent => sent,
            }
            .map_err(|e| transport_error(url, e, self.options.timeout))?;
            let status = response.status();
            if status.is_success() {
                return Ok(response);
            }
            // A 401 from somewhere a redirect took us is not our registry's challenge.
            let from_registry = response
                .get_uri()
                .authority()
                .is_none_or(|a| a.as_str().eq_ignore_ascii_case(&self.host));
            if status != StatusCode::UNAUTHORIZED || !from_registry {
                return Err(status_error(url, response));
            }
            if authenticated_here {
                // Bearer challenges say why: error="insufficient_scope" / "invalid_token".
                let why = response
                    .headers()
                    .get_all("www-authenticate")
                    .iter()
                    .filter_map(|v| v.to_str().ok())
                    .flat_map(parse_challenges)
                    .find_map(|c| c.param("error").map(str::to_string));
                let detail = error_detail(response);
                let detail = match (detail, why) {
                    (Some(d), Some(w)) => Some(format!("{d} ({w})")),
                    (d, w) => d.or(w),
                };
                let (what, hint) = state.describe();
                return Err(RegistryError::Auth {
                    registry: self.registry.clone(),
                    reason: format!(
                        "{url} refused {what} (HTTP 401{}); {hint}",
                        detail_suffix(&detail)
                    ),
                });
            }
            let challenges: Vec<String> = response
                .headers()
                .get_all("www-authenticate")
                .iter()
                .filter_map(|v| v.to_str().ok())
                .map(str::to_string)
                .collect();
            let detail = error_detail(response);
            let new_state = self.authenticate(url, &challenges, detail)?;
            *self.auth.lock().unwrap_or_else(|p| p.into_inner()) = new_state;
            authenticated_here = true;
        }
    }

    fn auth_state(&self) -> AuthState {
        self.auth.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The credentials for this registry, looked up once.
    fn credentials(&self) -> Result<Option<Credentials>, RegistryError> {
        let mut cached = self.creds.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(creds) = cached.as_ref() {
            return Ok(creds.clone());
        }
        let found = auth::credentials_for(&self.registry, self.options.creds.as_ref()).map_err(
            |source| RegistryError::Credentials {
                registry: self.registry.clone(),
                source,
            },
        )?;
        *cached = Some(found.clone());
        Ok(found)
    }

    /// Answers the challenges of a 401 on `url`: the new auth state to retry with.
    fn authenticate(
        &self,
        url: &str,
        challenges: &[String],
        detail: Option<String>,
    ) -> Result<AuthState, RegistryError> {
        let parsed: Vec<Challenge> = challenges
            .iter()
            .flat_map(|c| parse_challenges(c))
            .collect();
        let auth_err = |reason: String| RegistryError::Auth {
            registry: self.registry.clone(),
            reason,
        };
        if let Some(bearer) = parsed.iter().find(|c| c.scheme == "bearer") {
            let (token, user) = self.fetch_token(bearer)?;
            return Ok(AuthState::Bearer { token, user });
        }
        if parsed.iter().any(|c| c.scheme == "basic") {
            let Some(creds) = self.credentials()? else {
                return Err(auth_err(format!(
                    "{url} requires credentials (HTTP 401, Basic){}; none given \
                     (use --creds USER:PASS or log in with docker/podman/skopeo)",
                    detail_suffix(&detail)
                )));
            };
            self.check_plain_http_credentials(&self.base)?;
            return Ok(AuthState::Basic {
                encoded: basic(&creds),
                user: creds.username,
            });
        }
        Err(auth_err(if challenges.is_empty() {
            format!(
                "{url} answered HTTP 401 without a WWW-Authenticate challenge{}",
                detail_suffix(&detail)
            )
        } else {
            format!(
                "{url} answered HTTP 401 with an unsupported challenge {:?}",
                challenges.join(", ")
            )
        }))
    }

    /// Refuses to send credentials over plain HTTP unless the user asked for plain HTTP.
    fn check_plain_http_credentials(&self, url: &str) -> Result<(), RegistryError> {
        if url.starts_with("http://") && !self.options.insecure {
            return Err(RegistryError::Auth {
                registry: self.registry.clone(),
                reason: format!("refusing to send credentials to {url} over plain HTTP"),
            });
        }
        Ok(())
    }

    /// The Bearer flow: GET realm?service=..&scope=repository:<repo>:pull, with Basic credentials
    /// when there are any, anonymous otherwise; the answer's `token` (or `access_token`) and the
    /// user it was asked for.
    fn fetch_token(
        &self,
        challenge: &Challenge,
    ) -> Result<(String, Option<String>), RegistryError> {
        let auth_err = |reason: String| RegistryError::Auth {
            registry: self.registry.clone(),
            reason,
        };
        let Some(realm) = challenge.param("realm").filter(|r| !r.is_empty()) else {
            return Err(auth_err("Bearer challenge without a realm".into()));
        };
        if !(realm.starts_with("https://") || realm.starts_with("http://")) {
            return Err(auth_err(format!(
                "Bearer realm {realm:?} is not an http(s) URL"
            )));
        }
        let creds = self.credentials()?;
        let scope = format!("repository:{}:pull", self.repository);
        let mut request = self.agent.get(realm).query("scope", &scope);
        if let Some(service) = challenge.param("service") {
            request = request.query("service", service);
        }
        if let Some(creds) = &creds {
            self.check_plain_http_credentials(realm)?;
            request = request
                .query("account", &creds.username)
                .header("Authorization", format!("Basic {}", basic(creds)));
        }
        let response = request
            .call()
            .map_err(|e| transport_error(realm, e, self.options.timeout))?;
        let status = response.status();
        if !status.is_success() {
            let detail = error_detail(response);
            let who = match &creds {
                Some(c) => format!("as {:?}", c.username),
                None => "anonymously (no credentials given: use --creds USER:PASS or log in)"
                    .to_string(),
            };
            return Err(auth_err(format!(
                "token server {realm} answered HTTP {} {who}{}",
                status.as_u16(),
                detail_suffix(&detail)
            )));
        }
        let body = read_limited(response, realm, SMALL_BODY_LIMIT)?;
        let answer: serde_json::Value =
            serde_json::from_slice(&body).map_err(|e| RegistryError::Protocol {
                url: realm.to_string(),
                reason: format!("token server answer is not JSON: {e}"),
            })?;
        ["token", "access_token"]
            .iter()
            .filter_map(|k| answer.get(*k).and_then(|v| v.as_str()))
            .find(|t| !t.is_empty())
            .map(|t| (t.to_string(), creds.map(|c| c.username)))
            .ok_or_else(|| RegistryError::Protocol {
                url: realm.to_string(),
                reason: "token server answer has no \"token\" or \"access_token\"".into(),
            })
    }
}

/// base64 of `user:pass`.
fn basic(creds: &Credentials) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD
        .encode(format!("{}:{}", creds.username, creds.password))
}

fn content_length(response: &Response<ureq::Body>) -> Option<u64> {
    response
        .headers()
        .get("content-length")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
}

/// Reads a whole body of at most `limit` bytes, checking it against `Content-Length`.
fn read_limited(
    response: Response<ureq::Body>,
    url: &str,
    limit: u64,
) -> Result<Vec<u8>, RegistryError> {
    let expected = content_length(&response);
    if expected.is_some_and(|n| n > limit) {
        return Err(RegistryError::TooLarge {
            url: url.to_string(),
            limit,
        });
    }
    let mut body = Vec::new();
    let mut reader = response.into_body().into_reader().take(limit + 1);
    reader.read_to_end(&mut body).map_err(|e| {
        let received = body.len() as u64;
        io_error(url, e, Duration::ZERO, received, expected)
    })?;
    if body.len() as u64 > limit {
        return Err(RegistryError::TooLarge {
            url: url.to_string(),
            limit,
        });
    }
    if let Some(expected) = expected
        && (body.len() as u64) < expected
    {
        return Err(RegistryError::ShortBody {
            url: url.to_string(),
            received: body.len() as u64,
            expected,
        });
    }
    Ok(body)
}

/// Whether a request failed the way one sent on a pooled connection that the server closed does:
/// reset, aborted or ended before any response.
fn stale_connection(e: &ureq::Error) -> bool {
    use std::io::ErrorKind::{BrokenPipe, ConnectionAborted, ConnectionReset, UnexpectedEof};
    matches!(e, ureq::Error::Io(io)
        if matches!(io.kind(), ConnectionReset | ConnectionAborted | BrokenPipe | UnexpectedEof))
}

/// Classifies an error of `ureq` when sending or receiving headers.
fn transport_error(url: &str, e: ureq::Error, timeout: Duration) -> RegistryError {
    match e {
        ureq::Error::Timeout(which) => RegistryError::Timeout {
            url: url.to_string(),
            what: timeout_step(which),
            timeout,
        },
        ureq::Error::Io(io) if io.kind() == std::io::ErrorKind::TimedOut => {
            RegistryError::Timeout {
                url: url.to_string(),
                what: "waiting for data",
                timeout,
            }
        }
        ureq::Error::HostNotFound => RegistryError::Transport {
            url: url.to_string(),
            reason: "host not found".into(),
        },
        other => {
            let mut reason = other.to_string();
            let reason_lower = reason.to_ascii_lowercase();
            let tls_failed = matches!(other, ureq::Error::Tls(_) | ureq::Error::Rustls(_))
                || reason_lower.contains("corrupt message")
                || reason_lower.contains("invalidcontenttype");
            if url.starts_with("https://") && tls_failed {
                reason.push_str(" (TLS failed: a plain-HTTP registry needs --insecure)");
            }
            RegistryError::Transport {
                url: url.to_string(),
                reason,
            }
        }
    }
}

fn timeout_step(which: ureq::Timeout) -> &'static str {
    match which {
        ureq::Timeout::Resolve => "resolving the host name",
        ureq::Timeout::Connect => "connecting",
        ureq::Timeout::PerRead | ureq::Timeout::RecvResponse | ureq::Timeout::RecvBody => {
            "waiting for data"
        }
        ureq::Timeout::PerWrite | ureq::Timeout::SendRequest | ureq::Timeout::SendBody => {
            "sending the request"
        }
        _ => "the request",
    }
}

/// Classifies an I/O error while reading a body (ureq wraps its own errors in `io::Error`).
fn io_error(
    url: &str,
    e: std::io::Error,
    timeout: Duration,
    received: u64,
    expected: Option<u64>,
) -> RegistryError {
    if e.get_ref().is_some_and(|r| r.is::<ureq::Error>()) {
        let inner = ureq::Error::from(e);
        if let ureq::Error::Io(io) = &inner
            && io.kind() == std::io::ErrorKind::UnexpectedEof
            && let Some(expected) = expected
        {
            return RegistryError::ShortBody {
                url: url.to_string(),
                received,
                expected,
            };
        }
        return transport_error(url, inner, timeout);
    }
    match (e.kind(), expected) {
        (std::io::ErrorKind::UnexpectedEof, Some(expected)) => RegistryError::ShortBody {
            url: url.to_string(),
            received,
            expected,
        },
        (std::io::ErrorKind::TimedOut, _) => RegistryError::Timeout {
            url: url.to_string(),
            what: "waiting for data",
            timeout,
        },
        _ => RegistryError::Transport {
            url: url.to_string(),
            reason: e.to_string(),
        },
    }
}

/// Turns a non-2xx response into [`RegistryError::Status`].
fn status_error(url: &str, response: Response<ureq::Body>) -> RegistryError {
    let status = response.status().as_u16();
    RegistryError::Status {
        url: url.to_string(),
        status,
        detail: error_detail(response),
    }
}

/// The registry's error body as `CODE: message[; CODE: message]`, or a short text snippet.
fn error_detail(response: Response<ureq::Body>) -> Option<String> {
    let mut body = Vec::new();
    let _ = response
        .into_body()
        .into_reader()
        .take(64 << 10)
        .read_to_end(&mut body);
    error_detail_from(&body)
}

fn error_detail_from(body: &[u8]) -> Option<String> {
    if let Ok(doc) = serde_json::from_slice::<serde_json::Value>(body) {
        let errors = doc.get("errors").and_then(|e| e.as_array());
        let parts: Vec<String> = errors
            .into_iter()
            .flatten()
            .filter_map(|e| {
                let code = e.get("code").and_then(|c| c.as_str()).unwrap_or("");
                let message = e.get("message").and_then(|m| m.as_str()).unwrap_or("");
                match (code.is_empty(), message.is_empty()) {
                    (true, true) => None,
                    (false, true) => Some(code.to_string()),
                    (true, false) => Some(message.to_string()),
                    (false, false) => Some(format!("{code}: {message}")),
                }
            })
            .collect();
        if !parts.is_empty() {
            return Some(parts.join("; "));
        }
        // Token servers often answer {"details": ".."} or {"error": ".."}.
        for key in ["details", "error", "message"] {
            if let Some(s) = doc.get(key).and_then(|v| v.as_str()) {
                return Some(one_line(s));
            }
        }
    }
    let text = String::from_utf8_lossy(body);
    let text = one_line(&text);
    (!text.is_empty() && !text.contains('\u{fffd}')).then_some(text)
}

/// At most 200 characters, on one line.
fn one_line(s: &str) -> String {
    let s: String = s.split_whitespace().collect::<Vec<_>>().join(" ");
    match s.char_indices().nth(200) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s,
    }
}

/// A blob body being streamed: maps read errors to [`RegistryError`]s naming the URL and turns an
/// early end (fewer bytes than `Content-Length`) into an error rather than a silent short read.
struct BlobReader {
    inner: ureq::BodyReader<'static>,
    url: String,
    expected: Option<u64>,
    received: u64,
    timeout: Duration,
}

impl Read for BlobReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self.inner.read(buf) {
            Ok(0) if !buf.is_empty() => match self.expected {
                Some(expected) if self.received < expected => Err(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    RegistryError::ShortBody {
                        url: self.url.clone(),
                        received: self.received,
                        expected,
                    },
                )),
                _ => Ok(0),
            },
            Ok(n) => {
                self.received += n as u64;
                Ok(n)
            }
            Err(e) => {
                let err = io_error(&self.url, e, self.timeout, self.received, self.expected);
                let kind = match err {
                    RegistryError::Timeout { .. } => std::io::ErrorKind::TimedOut,
                    RegistryError::ShortBody { .. } => std::io::ErrorKind::UnexpectedEof,
                    _ => std::io::ErrorKind::Other,
                };
                Err(std::io::Error::new(kind, err))
            }
        }
    }
}

/// One challenge of a `WWW-Authenticate` header: scheme (lowercase) and parameters.
#[derive(Debug, PartialEq, Eq)]
struct Challenge {
    scheme: String,
    params: Vec<(String, String)>,
}

impl Challenge {
    fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Parses a `WWW-Authenticate` value (RFC 7235): one or more challenges, each a scheme followed by
/// comma-separated `name=value` parameters whose values may be quoted strings with escapes and
/// commas (`scope="repository:a:pull,push"`).
fn parse_challenges(header: &str) -> Vec<Challenge> {
    let chars: Vec<char> = header.chars().collect();
    let mut i = 0;
    let mut out: Vec<Challenge> = Vec::new();
    let is_token = |c: char| !c.is_whitespace() && c != ',' && c != '=' && c != '"';
    loop {
        while i < chars.len() && (chars[i].is_whitespace() || chars[i] == ',') {
            i += 1;
        }
        if i >= chars.len() {
            break;
        }
        let start = i;
        while i < chars.len() && is_token(chars[i]) {
            i += 1;
        }
        if i == start {
            // A stray character ('=' or '"'): skip it.
            i += 1;
            continue;
        }
        let token: String = chars[start..i].iter().collect();
        let mut j = i;
        while j < chars.len() && chars[j].is_whitespace() {
            j += 1;
        }
        let is_param = j < chars.len() && chars[j] == '=' && !out.is_empty();
        if !is_param {
            out.push(Challenge {
                scheme: token.to_ascii_lowercase(),
                params: Vec::new(),
            });
            continue;
        }
        i = j + 1;
        while i < chars.len() && chars[i].is_whitespace() {
            i += 1;
        }
        let mut value = String::new();
        if i < chars.len() && chars[i] == '"' {
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                if chars[i] == '\\' && i + 1 < chars.len() {
                    i += 1;
                }
                value.push(chars[i]);
                i += 1;
            }
            i += 1; // closing quote
        } else {
            while i < chars.len() && chars[i] != ',' && !chars[i].is_whitespace() {
                value.push(chars[i]);
                i += 1;
            }
        }
        if let Some(last) = out.last_mut() {
            last.params.push((token.to_ascii_lowercase(), value));
        }
    }
    out
}

/// A repository name: lowercase path components separated by single slashes.
/// A digest: `algorithm:encoded` with the OCI grammar's characters.
fn valid_digest(digest: &str) -> bool {
    let Some((algorithm, encoded)) = digest.split_once(':') else {
        return false;
    };
    !algorithm.is_empty()
        && algorithm
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"+._-".contains(&b))
        && encoded.len() >= 32
        && encoded
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"=_-".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_is_send_sync() {
        fn check<T: Send + Sync>() {}
        check::<Client>();
    }

    #[test]
    fn challenges() {
        let c = parse_challenges(
            r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/alpine:pull,push""#,
        );
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].scheme, "bearer");
        assert_eq!(c[0].param("realm"), Some("https://auth.docker.io/token"));
        assert_eq!(c[0].param("service"), Some("registry.docker.io"));
        assert_eq!(
            c[0].param("scope"),
            Some("repository:library/alpine:pull,push")
        );

        let c = parse_challenges(r#"Basic realm="Registry Realm""#);
        assert_eq!(c[0].scheme, "basic");
        assert_eq!(c[0].param("realm"), Some("Registry Realm"));

        // Several challenges, unquoted values, spaces around '=', escapes.
        let c = parse_challenges(
            r#"Basic realm=x, Bearer realm = "https://a/t?x=1" , service=svc,error="insufficient_scope", Digest realm="a\"b""#,
        );
        assert_eq!(c.len(), 3, "{c:?}");
        assert_eq!(c[0].param("realm"), Some("x"));
        assert_eq!(c[1].scheme, "bearer");
        assert_eq!(c[1].param("realm"), Some("https://a/t?x=1"));
        assert_eq!(c[1].param("service"), Some("svc"));
        assert_eq!(c[1].param("error"), Some("insufficient_scope"));
        assert_eq!(c[2].scheme, "digest");
        assert_eq!(c[2].param("realm"), Some("a\"b"));

        assert!(parse_challenges("").is_empty());
        assert_eq!(parse_challenges("Bearer")[0].params, vec![]);
        // Garbage does not panic.
        for s in [
            "=",
            "\"",
            "Bearer realm=\"unterminated",
            ",,,",
            "a=b",
            "Bearer =x",
        ] {
            let _ = parse_challenges(s);
        }
    }

    #[test]
    fn error_details() {
        assert_eq!(
            error_detail_from(
                br#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown","detail":{"Tag":"x"}}]}"#
            )
            .as_deref(),
            Some("MANIFEST_UNKNOWN: manifest unknown")
        );
        assert_eq!(
            error_detail_from(br#"{"details":"incorrect username or password"}"#).as_deref(),
            Some("incorrect username or password")
        );
        assert_eq!(
            error_detail_from(b"  not\n found ").as_deref(),
            Some("not found")
        );
        assert_eq!(error_detail_from(b""), None);
        assert_eq!(error_detail_from(&[0xff, 0xfe]), None);
    }

    #[test]
    fn names() {
        use reference::{valid_repository, valid_tag};
        assert!(valid_repository("library/alpine"));
        assert!(valid_repository("a/b-c/d_e.f"));
        assert!(!valid_repository("Library/alpine"));
        assert!(!valid_repository("a//b"));
        assert!(!valid_repository("../x"));
        assert!(!valid_repository("a/?x"));
        assert!(valid_tag("3.20"));
        assert!(valid_tag("latest"));
        assert!(!valid_tag(".x"));
        assert!(!valid_tag("a/b"));
        assert!(valid_digest(
            "sha256:88997d74aebb3236f83de346475ada74275eb457a3e2c4aa7777778bf67e90fb"
        ));
        assert!(!valid_digest("sha256:../../x"));
        assert!(!valid_digest("sha256"));
        let opts = RegistryOptions::default();
        assert!(Client::new("quay.io/x", "a", &opts).is_err());
        let empty = Client::new("", "a", &opts).err().unwrap().to_string();
        assert_eq!(
            empty,
            "invalid registry host \"\": expected a DNS name or IP address with an optional :PORT"
        );
        let c = Client::new("docker.io", "library/alpine", &opts).unwrap();
        assert_eq!(c.base, "https://registry-1.docker.io");
        let c = Client::new(
            "127.0.0.1:5000",
            "x",
            &RegistryOptions {
                insecure: true,
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(c.base, "http://127.0.0.1:5000");
        let err = c.manifest("bad/tag").unwrap_err().to_string();
        assert!(
            err.contains("127.0.0.1:5000") && err.contains("bad/tag"),
            "{err}"
        );
    }
}
