//! A real OCI registry for tests: Debian's `docker-registry` (distribution 2.8) started as a child
//! on a free loopback port, optionally behind htpasswd or a real Bearer token server, plus a small
//! OCI-layout builder to make images to push into it with skopeo.
//!
//! - [`TestRegistry::start`] writes the registry's config into a tempdir (filesystem storage there,
//!   JSON logs on stderr redirected to `registry.log`), starts `docker-registry serve`, waits until
//!   `/v2/` answers, and kills the child by PID on drop.
//! - [`RegistryAuth::Token`] runs a token server thread in the test process (std `TcpListener`,
//!   minimal HTTP/1.1) that checks Basic credentials and issues RS256 JWTs signed with a key and
//!   self-signed certificate made by `openssl`; the registry trusts that certificate.
//!   Anonymous token requests get a token with no access (as Docker Hub does); wrong credentials
//!   get a 401.
//! - [`OciLayout`] writes images (gzip layers built with the `tar` and `flate2` crates, config,
//!   manifest) and multi-platform indexes into an OCI layout directory. umoci 0.4.7's `insert`
//!   writes layer tars without their padding and end-of-archive blocks, so it is not used.
//!
//! Needs `docker-registry`, `skopeo`, `htpasswd` (apache2-utils) and `openssl` on PATH; a missing
//! tool is a test failure that says which.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// The token service name the registry and the token server agree on.
pub const TOKEN_SERVICE: &str = "rootsift-test-registry";
/// The issuer of the test tokens.
pub const TOKEN_ISSUER: &str = "rootsift-test-token-server";

/// How the registry authenticates clients.
#[derive(Clone, Debug)]
pub enum RegistryAuth {
    /// Open to everyone.
    None,
    /// `auth.htpasswd`: Basic auth with one user.
    Htpasswd { user: String, pass: String },
    /// `auth.token`: the Bearer flow with a token server that knows one user.
    Token { user: String, pass: String },
}

impl RegistryAuth {
    /// `Htpasswd` with the given user.
    pub fn htpasswd(user: &str, pass: &str) -> Self {
        RegistryAuth::Htpasswd {
            user: user.into(),
            pass: pass.into(),
        }
    }

    /// `Token` with the given user.
    pub fn token(user: &str, pass: &str) -> Self {
        RegistryAuth::Token {
            user: user.into(),
            pass: pass.into(),
        }
    }

    /// `user:pass`, if the registry has a user.
    pub fn creds(&self) -> Option<String> {
        match self {
            RegistryAuth::None => None,
            RegistryAuth::Htpasswd { user, pass } | RegistryAuth::Token { user, pass } => {
                Some(format!("{user}:{pass}"))
            }
        }
    }
}

/// One request as the registry logged it ("response completed" lines).
#[derive(Clone, Debug)]
pub struct LoggedRequest {
    pub method: String,
    pub uri: String,
    pub status: Option<u64>,
}

/// A running `docker-registry`; killed (by PID) on drop.
pub struct TestRegistry {
    dir: tempfile::TempDir,
    child: Child,
    addr: String,
    auth: RegistryAuth,
    token: Option<TokenServer>,
    syncs: AtomicUsize,
}

fn require_tool(tool: &str) {
    let found = std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).any(|dir| dir.join(tool).is_file()))
        .unwrap_or(false);
    assert!(
        found,
        "`{tool}` is not on PATH; the registry tests need docker-registry, skopeo, htpasswd \
         (apache2-utils) and openssl (apt-get install docker-registry skopeo apache2-utils openssl)"
    );
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("no free loopback port")
}

fn run(cmd: &mut Command) -> Vec<u8> {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}):\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// One raw HTTP/1.1 GET; the status line's code, or None if nothing answered.
fn raw_get(addr: &str, path: &str) -> Option<u16> {
    let mut stream = TcpStream::connect(addr).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut line = String::new();
    BufReader::new(stream).read_line(&mut line).ok()?;
    line.split_whitespace().nth(1)?.parse().ok()
}

impl TestRegistry {
    /// Starts a registry with `auth` on a free loopback port and waits until it answers.
    pub fn start(auth: RegistryAuth) -> TestRegistry {
        require_tool("docker-registry");
        let dir = tempfile::tempdir().expect("tempdir");
        let token = match &auth {
            RegistryAuth::Token { user, pass } => Some(TokenServer::start(dir.path(), user, pass)),
            _ => None,
        };
        let auth_yaml = match &auth {
            RegistryAuth::None => String::new(),
            RegistryAuth::Htpasswd { user, pass } => {
                require_tool("htpasswd");
                let line = run(Command::new("htpasswd").args(["-Bbn", user, pass]));
                let file = dir.path().join("htpasswd");
                fs::write(&file, line).expect("write htpasswd");
                format!(
                    "auth:\n  htpasswd:\n    realm: rootsift-test\n    path: {}\n",
                    file.display()
                )
            }
            RegistryAuth::Token { .. } => {
                let token = token.as_ref().expect("token server");
                format!(
                    "auth:\n  token:\n    realm: http://{}/token\n    service: {TOKEN_SERVICE}\n    \
                     issuer: {TOKEN_ISSUER}\n    rootcertbundle: {}\n",
                    token.addr,
                    token.cert.display()
                )
            }
        };
        // The port is picked free, then given to the registry: another process may take it in
        // between, so a bind failure is retried on a new port.
        for _attempt in 0..5 {
            let addr = format!("127.0.0.1:{}", free_port());
            let config = format!(
                "version: 0.1\n\
                 log:\n  level: info\n  formatter: json\n  accesslog:\n    disabled: true\n\
                 storage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\n\
                 http:\n  addr: {addr}\n{auth_yaml}",
                dir.path().join("storage").display()
            );
            let config_path = dir.path().join("config.yml");
            fs::write(&config_path, config).expect("write registry config");
            let log = File::create(dir.path().join("registry.log")).expect("create registry.log");
            let stdout = File::create(dir.path().join("registry.out")).expect("registry.out");
            let mut child = Command::new("docker-registry")
                .arg("serve")
                .arg(&config_path)
                .stdin(Stdio::null())
                .stdout(stdout)
                .stderr(log)
                .spawn()
                .expect("start docker-registry");
            let started = Instant::now();
            loop {
                if let Ok(Some(status)) = child.try_wait() {
                    let log =
                        fs::read_to_string(dir.path().join("registry.log")).unwrap_or_default();
                    if log.contains("address already in use") {
                        break;
                    }
                    panic!("docker-registry exited ({status}) at start:\n{log}");
                }
                if raw_get(&addr, "/v2/").is_some() {
                    return TestRegistry {
                        dir,
                        child,
                        addr,
                        auth,
                        token,
                        syncs: AtomicUsize::new(0),
                    };
                }
                if started.elapsed() > Duration::from_secs(20) {
                    let _ = child.kill();
                    let _ = child.wait();
                    let log =
                        fs::read_to_string(dir.path().join("registry.log")).unwrap_or_default();
                    panic!("docker-registry did not answer on {addr} within 20 s:\n{log}");
                }
                thread::sleep(Duration::from_millis(25));
            }
        }
        panic!("docker-registry could not bind a free port in 5 attempts");
    }

    /// `127.0.0.1:PORT`.
    pub fn addr(&self) -> String {
        self.addr.clone()
    }

    /// The registry's auth mode.
    pub fn auth(&self) -> &RegistryAuth {
        &self.auth
    }

    /// The tempdir holding config, storage and logs.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// `skopeo copy SRC docker://ADDR/DEST` (with the registry's credentials); panics with
    /// skopeo's stderr on failure. `src` in skopeo's syntax, e.g. `oci:/tmp/layout:tag`.
    pub fn push(&self, src: &str, dest: &str) {
        self.copy(src, dest, false);
    }

    /// [`push`](Self::push) with `--all`: every image of a multi-platform index.
    pub fn push_all(&self, src: &str, dest: &str) {
        self.copy(src, dest, true);
    }

    fn copy(&self, src: &str, dest: &str, all: bool) {
        require_tool("skopeo");
        let mut cmd = Command::new("skopeo");
        cmd.args([
            "--insecure-policy",
            "copy",
            "--quiet",
            "--dest-tls-verify=false",
        ]);
        if let Some(creds) = self.auth.creds() {
            cmd.arg("--dest-creds").arg(creds);
        }
        if all {
            cmd.arg("--all");
        }
        cmd.arg(src).arg(format!("docker://{}/{dest}", self.addr));
        run(&mut cmd);
    }

    /// The registry's log (JSON lines, logrus).
    pub fn log(&self) -> String {
        fs::read_to_string(self.dir.path().join("registry.log")).unwrap_or_default()
    }

    /// Waits until every request answered so far is in the log. The registry writes a request's
    /// line after answering it, so a client can be done before its line is there: send a marker
    /// request and wait for its line (requests are logged in the order they finish).
    fn sync_log(&self) {
        let n = self.syncs.fetch_add(1, Ordering::SeqCst);
        let marker = format!("/v2/?rootsift-sync={n}");
        let _ = raw_get(&self.addr, &marker);
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(5) {
            if self.log().contains(&format!("\"{marker}\"")) {
                // Other in-flight lines are written concurrently; give them a moment.
                thread::sleep(Duration::from_millis(50));
                return;
            }
            thread::sleep(Duration::from_millis(10));
        }
    }

    /// Every request the registry completed (authorised ones: a request refused with 401 is
    /// logged as "error authorizing context", not here), in log order.
    pub fn requests(&self) -> Vec<LoggedRequest> {
        self.sync_log();
        self.log()
            .lines()
            .filter_map(|line| serde_json::from_str::<Value>(line).ok())
            .filter(|v| {
                v.get("msg")
                    .and_then(Value::as_str)
                    .is_some_and(|m| m.starts_with("response completed"))
            })
            .filter_map(|v| {
                Some(LoggedRequest {
                    method: v.get("http.request.method")?.as_str()?.to_string(),
                    uri: v.get("http.request.uri")?.as_str()?.to_string(),
                    status: v.get("http.response.status").and_then(Value::as_u64),
                })
            })
            .collect()
    }

    /// GET requests on `/v2/<repo>/blobs/<digest>` the registry answered (any status but 401).
    pub fn blob_gets(&self) -> usize {
        self.requests()
            .iter()
            .filter(|r| r.method == "GET" && is_blob_uri(&r.uri))
            .count()
    }

    /// GET requests on `/v2/<repo>/manifests/<reference>` the registry answered (any status but 401).
    pub fn manifest_gets(&self) -> usize {
        self.requests()
            .iter()
            .filter(|r| r.method == "GET" && r.uri.contains("/manifests/"))
            .count()
    }

    /// Token requests the token server received (0 unless [`RegistryAuth::Token`]).
    pub fn token_gets(&self) -> usize {
        self.token
            .as_ref()
            .map_or(0, |t| t.requests.load(Ordering::SeqCst))
    }
}

fn is_blob_uri(uri: &str) -> bool {
    uri.contains("/blobs/") && !uri.contains("/blobs/uploads")
}

impl Drop for TestRegistry {
    fn drop(&mut self) {
        // Child::kill sends SIGKILL to this child's PID only.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The Bearer token server: issues RS256 JWTs with an `x5c` header the registry verifies against
/// the self-signed certificate in its `rootcertbundle`.
struct TokenServer {
    addr: SocketAddr,
    cert: PathBuf,
    stop: Arc<AtomicBool>,
    requests: Arc<AtomicUsize>,
    thread: Option<JoinHandle<()>>,
}

struct TokenIssuer {
    key: PathBuf,
    x5c: String,
    user: String,
    pass: String,
    serial: AtomicUsize,
}

impl TokenServer {
    fn start(dir: &Path, user: &str, pass: &str) -> TokenServer {
        require_tool("openssl");
        let key = dir.join("token-key.pem");
        let cert = dir.join("token-cert.pem");
        run(Command::new("openssl")
            .args([
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            ])
            .args(["-subj", "/CN=rootsift test token issuer", "-keyout"])
            .arg(&key)
            .arg("-out")
            .arg(&cert));
        let der = run(Command::new("openssl")
            .args(["x509", "-outform", "DER", "-in"])
            .arg(&cert));
        let issuer = Arc::new(TokenIssuer {
            key,
            x5c: STANDARD.encode(der),
            user: user.into(),
            pass: pass.into(),
            serial: AtomicUsize::new(0),
        });
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind token server");
        let addr = listener.local_addr().expect("token server address");
        let stop = Arc::new(AtomicBool::new(false));
        let requests = Arc::new(AtomicUsize::new(0));
        let thread = {
            let (stop, requests) = (stop.clone(), requests.clone());
            thread::spawn(move || {
                for stream in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(stream) = stream else { continue };
                    requests.fetch_add(1, Ordering::SeqCst);
                    let issuer = issuer.clone();
                    thread::spawn(move || issuer.serve(stream));
                }
            })
        };
        TokenServer {
            addr,
            cert,
            stop,
            requests,
            thread: Some(thread),
        }
    }
}

impl Drop for TokenServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect(self.addr);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Percent-decoding of a query component (`+` is a space).
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let hex = |b: u8| (b as char).to_digit(16);
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push((h * 16 + l) as u8);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b'+' => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

impl TokenIssuer {
    fn serve(&self, mut stream: TcpStream) {
        let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
        let mut head = Vec::new();
        let mut buf = [0u8; 4096];
        while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 64 << 10 {
            match stream.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => head.extend_from_slice(&buf[..n]),
            }
        }
        let head = String::from_utf8_lossy(&head).into_owned();
        let mut lines = head.split("\r\n");
        let target = lines
            .next()
            .and_then(|l| l.split_whitespace().nth(1))
            .unwrap_or("")
            .to_string();
        let authorization = lines
            .filter_map(|l| l.split_once(':'))
            .find(|(k, _)| k.trim().eq_ignore_ascii_case("authorization"))
            .map(|(_, v)| v.trim().to_string());
        let (path, query) = target.split_once('?').unwrap_or((&target, ""));
        let params: Vec<(String, String)> = query
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|p| {
                let (k, v) = p.split_once('=').unwrap_or((p, ""));
                (percent_decode(k), percent_decode(v))
            })
            .collect();
        let (status, body, extra) = self.answer(path, &params, authorization.as_deref());
        let _ = write!(
            stream,
            "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
             {extra}Connection: close\r\n\r\n{body}",
            body.len()
        );
    }

    /// (status line, JSON body, extra header lines).
    fn answer(
        &self,
        path: &str,
        params: &[(String, String)],
        authorization: Option<&str>,
    ) -> (&'static str, String, &'static str) {
        if path != "/token" {
            return ("404 Not Found", r#"{"details":"no such path"}"#.into(), "");
        }
        let user = match authorization {
            None => None,
            Some(value) => {
                let given = value
                    .strip_prefix("Basic ")
                    .and_then(|b| STANDARD.decode(b.trim()).ok())
                    .map(|b| String::from_utf8_lossy(&b).into_owned());
                if given.as_deref() != Some(&format!("{}:{}", self.user, self.pass)) {
                    return (
                        "401 Unauthorized",
                        r#"{"details":"incorrect username or password"}"#.into(),
                        "WWW-Authenticate: Basic realm=\"rootsift-test-token\"\r\n",
                    );
                }
                Some(self.user.clone())
            }
        };
        let service = params
            .iter()
            .find(|(k, _)| k == "service")
            .map(|(_, v)| v.clone())
            .unwrap_or_default();
        // Anonymous requests get a token that grants nothing, as Docker Hub's do for private repos.
        let access: Vec<Value> = if user.is_some() {
            params
                .iter()
                .filter(|(k, _)| k == "scope")
                .flat_map(|(_, v)| v.split(' ').map(str::to_string).collect::<Vec<_>>())
                .filter_map(|scope| {
                    let (kind, rest) = scope.split_once(':')?;
                    let (name, actions) = rest.rsplit_once(':')?;
                    Some(json!({"type": kind, "name": name,
                                "actions": actions.split(',').collect::<Vec<_>>()}))
                })
                .collect()
        } else {
            Vec::new()
        };
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let header = json!({"alg": "RS256", "typ": "JWT", "x5c": [self.x5c]});
        let claims = json!({
            "iss": TOKEN_ISSUER, "sub": user.unwrap_or_default(), "aud": service,
            "exp": now + 600, "nbf": now - 10, "iat": now,
            "jti": format!("rootsift-{now}-{}", self.serial.fetch_add(1, Ordering::SeqCst)),
            "access": access,
        });
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let signature = match self.sign(signing_input.as_bytes()) {
            Ok(sig) => sig,
            Err(e) => {
                return (
                    "500 Internal Server Error",
                    json!({ "details": e }).to_string(),
                    "",
                );
            }
        };
        let token = format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature));
        (
            "200 OK",
            json!({"token": token, "access_token": token, "expires_in": 600}).to_string(),
            "",
        )
    }

    /// RSASSA-PKCS1-v1_5 with SHA-256, by `openssl dgst -sha256 -sign`.
    fn sign(&self, data: &[u8]) -> Result<Vec<u8>, String> {
        let mut child = Command::new("openssl")
            .args(["dgst", "-sha256", "-sign"])
            .arg(&self.key)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("openssl: {e}"))?;
        child
            .stdin
            .take()
            .ok_or("no stdin")?
            .write_all(data)
            .map_err(|e| format!("openssl stdin: {e}"))?;
        let out = child
            .wait_with_output()
            .map_err(|e| format!("openssl: {e}"))?;
        if !out.status.success() {
            return Err(String::from_utf8_lossy(&out.stderr).into_owned());
        }
        Ok(out.stdout)
    }
}

/// `sha256:<hex>` of `data`.
pub fn sha256_digest(data: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(data)))
}

/// An image written into an [`OciLayout`].
#[derive(Clone, Debug)]
pub struct BuiltImage {
    /// The manifest's digest.
    pub manifest_digest: String,
    /// The manifest's bytes.
    pub manifest: Vec<u8>,
    /// The config's digest.
    pub config_digest: String,
    /// Each layer's (compressed blob) digest, bottom first.
    pub layer_digests: Vec<String>,
    /// Each layer's gzip blob, bottom first.
    pub layers: Vec<Vec<u8>>,
    /// `os/arch` of the config.
    pub platform: (String, String),
}

/// An OCI image layout directory being filled: blobs, `oci-layout`, `index.json` (rewritten after
/// every addition).
pub struct OciLayout {
    dir: PathBuf,
    refs: Vec<Value>,
}

/// One file of a layer: path inside the image (no leading `/`) and content. A path ending in `/`
/// is a directory.
pub type LayerFile<'a> = (&'a str, &'a [u8]);

impl OciLayout {
    /// A new, empty layout at `dir` (created).
    pub fn new(dir: &Path) -> OciLayout {
        fs::create_dir_all(dir.join("blobs").join("sha256")).expect("create layout");
        fs::write(dir.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#)
            .expect("write oci-layout");
        let layout = OciLayout {
            dir: dir.to_path_buf(),
            refs: Vec::new(),
        };
        layout.write_index();
        layout
    }

    /// The layout directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// skopeo's name for `tag` in this layout: `oci:DIR:TAG`.
    pub fn reference(&self, tag: &str) -> String {
        format!("oci:{}:{tag}", self.dir.display())
    }

    fn write_blob(&self, data: &[u8]) -> String {
        let digest = sha256_digest(data);
        let hex = &digest["sha256:".len()..];
        fs::write(self.dir.join("blobs").join("sha256").join(hex), data).expect("write blob");
        digest
    }

    fn write_index(&self) {
        let index = json!({"schemaVersion": 2, "manifests": self.refs});
        fs::write(self.dir.join("index.json"), index.to_string()).expect("write index.json");
    }

    fn tag(&mut self, tag: &str, media_type: &str, digest: &str, size: usize) {
        self.refs.retain(|r| {
            r.pointer("/annotations/org.opencontainers.image.ref.name")
                .and_then(Value::as_str)
                != Some(tag)
        });
        self.refs.push(json!({
            "mediaType": media_type, "digest": digest, "size": size,
            "annotations": {"org.opencontainers.image.ref.name": tag},
        }));
        self.write_index();
    }

    /// Adds a linux/amd64 image tagged `tag` with one gzip layer per entry of `layers`.
    pub fn add_image(&mut self, tag: &str, layers: &[&[LayerFile]]) -> BuiltImage {
        self.add_image_for(tag, "linux", "amd64", layers)
    }

    /// Adds an image for `os`/`arch` tagged `tag` with one gzip layer per entry of `layers`.
    pub fn add_image_for(
        &mut self,
        tag: &str,
        os: &str,
        arch: &str,
        layers: &[&[LayerFile]],
    ) -> BuiltImage {
        let mut diff_ids = Vec::new();
        let mut blobs = Vec::new();
        let mut descriptors = Vec::new();
        let mut layer_digests = Vec::new();
        for files in layers {
            let tar = make_tar(files);
            diff_ids.push(sha256_digest(&tar));
            let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            gz.write_all(&tar).expect("gzip");
            let gz = gz.finish().expect("gzip");
            let digest = self.write_blob(&gz);
            descriptors.push(json!({
                "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                "digest": digest, "size": gz.len(),
            }));
            layer_digests.push(digest);
            blobs.push(gz);
        }
        let config = json!({
            "architecture": arch, "os": os,
            "config": {"Env": ["PATH=/usr/bin:/bin"]},
            "rootfs": {"type": "layers", "diff_ids": diff_ids},
            "history": [],
        })
        .to_string();
        let config_digest = self.write_blob(config.as_bytes());
        let manifest = json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                       "digest": config_digest, "size": config.len()},
            "layers": descriptors,
        })
        .to_string()
        .into_bytes();
        let manifest_digest = self.write_blob(&manifest);
        self.tag(
            tag,
            "application/vnd.oci.image.manifest.v1+json",
            &manifest_digest,
            manifest.len(),
        );
        BuiltImage {
            manifest_digest,
            manifest,
            config_digest,
            layer_digests,
            layers: blobs,
            platform: (os.into(), arch.into()),
        }
    }

    /// Adds an image index tagged `tag` over `images` (each with its platform); returns the
    /// index's digest and bytes. Push it with [`TestRegistry::push_all`].
    pub fn add_index(&mut self, tag: &str, images: &[&BuiltImage]) -> (String, Vec<u8>) {
        let manifests: Vec<Value> = images
            .iter()
            .map(|img| {
                json!({
                    "mediaType": "application/vnd.oci.image.manifest.v1+json",
                    "digest": img.manifest_digest, "size": img.manifest.len(),
                    "platform": {"os": img.platform.0, "architecture": img.platform.1},
                })
            })
            .collect();
        let index = json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": manifests,
        })
        .to_string()
        .into_bytes();
        let digest = self.write_blob(&index);
        self.tag(
            tag,
            "application/vnd.oci.image.index.v1+json",
            &digest,
            index.len(),
        );
        (digest, index)
    }
}

/// A tar of `files` (mode 0644 files, 0755 directories, owned by root, fixed mtime).
pub fn make_tar(files: &[LayerFile]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    let mut dirs_done = BTreeMap::new();
    for (path, content) in files {
        let path = path.trim_start_matches('/');
        // Parent directories first, once each.
        let parts: Vec<&str> = path.trim_end_matches('/').split('/').collect();
        for i in 1..parts.len() {
            let dir = format!("{}/", parts[..i].join("/"));
            if dirs_done.insert(dir.clone(), ()).is_none() {
                append(&mut builder, &dir, tar::EntryType::Directory, &[]);
            }
        }
        if path.ends_with('/') {
            if dirs_done.insert(path.to_string(), ()).is_none() {
                append(&mut builder, path, tar::EntryType::Directory, &[]);
            }
        } else {
            append(&mut builder, path, tar::EntryType::Regular, content);
        }
    }
    builder.into_inner().expect("finish tar")
}

fn append(builder: &mut tar::Builder<Vec<u8>>, path: &str, kind: tar::EntryType, data: &[u8]) {
    let mut header = tar::Header::new_gnu();
    header.set_entry_type(kind);
    header.set_mode(if kind == tar::EntryType::Directory {
        0o755
    } else {
        0o644
    });
    header.set_uid(0);
    header.set_gid(0);
    header.set_mtime(1_700_000_000);
    header.set_size(data.len() as u64);
    builder
        .append_data(&mut header, path, data)
        .expect("append to tar");
}
