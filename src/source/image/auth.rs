//! Registry credentials: where a pull finds the user name and password for a registry.
//!
//! This module owns the lookup only, not the HTTP auth flow (that is `registry.rs`). The order is
//! the one podman and skopeo use, ending with Docker's file:
//!
//! 1. credentials given on the command line (`--creds USER:PASS`);
//! 2. `$REGISTRY_AUTH_FILE`;
//! 3. `${XDG_RUNTIME_DIR}/containers/auth.json`;
//! 4. `$DOCKER_CONFIG/config.json`, or `~/.docker/config.json` when `DOCKER_CONFIG` is unset.
//!
//! The first file that has an entry for the registry wins; a file that does not exist is skipped, a
//! file that exists but cannot be parsed is an error (a broken config should not silently turn a
//! private pull into an anonymous one).
//!
//! Inside a file: `credHelpers[KEY]` names a helper for that registry, else `credsStore` names one
//! for all; the helper (`docker-credential-<name> get`, the server URL on stdin, JSON
//! `{"Username","Secret"}` on stdout) is asked first, and when it has nothing the `auths[KEY]`
//! entry is used: its `auth` field (base64 of `user:pass`) or its `username`/`password` fields.
//! Keys may be written `host`, `host:port`, `https://host/v1/`, `http://host`...; Docker Hub is
//! `https://index.docker.io/v1/` (also `docker.io`, `index.docker.io`, `registry-1.docker.io`).
//!
//! Not supported: identity tokens (`identitytoken`, or a helper answering `<token>` as user name),
//! which need an OAuth2 refresh-token exchange; such entries are treated as absent. Podman's
//! per-repository keys (`quay.io/org/repo`) match their registry as a whole.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{Map, Value};

use super::registry::Credentials;

/// How long a credential helper may take before it is killed (a helper waiting on a GUI keychain
/// prompt must not hang a scan forever).
const HELPER_TIMEOUT: Duration = Duration::from_secs(60);

/// Docker Hub's key in Docker config files.
pub const DOCKER_HUB_KEY: &str = "https://index.docker.io/v1/";

/// Why credentials could not be looked up.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// A credentials file exists but could not be read.
    #[error("reading credentials file {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A credentials file is not valid JSON or an entry in it is malformed.
    #[error("credentials file {}: {reason}", path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// What is wrong, naming the entry.
        reason: String,
    },
    /// A credential helper failed (could not be run, failed, timed out, or answered garbage).
    #[error("credential helper {helper} for {server}: {reason}")]
    Helper {
        /// The helper program (`docker-credential-<name>`).
        helper: String,
        /// The server URL it was asked about.
        server: String,
        /// What went wrong.
        reason: String,
    },
}

/// Credentials for `registry` (written as in an image reference: `docker.io`, `quay.io`,
/// `127.0.0.1:5000`...). `explicit` (from `--creds`) wins; otherwise the first config file, in the
/// order of the module documentation, that has an entry. `Ok(None)`: go anonymous.
pub fn credentials_for(
    registry: &str,
    explicit: Option<&Credentials>,
) -> Result<Option<Credentials>, AuthError> {
    if let Some(creds) = explicit {
        return Ok(Some(creds.clone()));
    }
    for path in config_files() {
        if let Some(creds) = credentials_in_file(&path, registry)? {
            return Ok(Some(creds));
        }
    }
    Ok(None)
}

/// The config files consulted, in order, from the environment.
pub fn config_files() -> Vec<PathBuf> {
    let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
    let mut files = Vec::new();
    if let Some(file) = var("REGISTRY_AUTH_FILE") {
        files.push(PathBuf::from(file));
    }
    if let Some(dir) = var("XDG_RUNTIME_DIR") {
        files.push(Path::new(&dir).join("containers").join("auth.json"));
    }
    if let Some(dir) = var("DOCKER_CONFIG") {
        files.push(Path::new(&dir).join("config.json"));
    } else if let Some(home) = var("HOME") {
        files.push(Path::new(&home).join(".docker").join("config.json"));
    }
    files
}

/// Credentials for `registry` from one config file (Docker's `config.json` or containers'
/// `auth.json`, same shape). A missing file is `Ok(None)`. Credential helpers are found on `PATH`.
pub fn credentials_in_file(path: &Path, registry: &str) -> Result<Option<Credentials>, AuthError> {
    credentials_in_file_with(path, registry, None)
}

/// [`credentials_in_file`], with credential helpers looked up in `helper_dir` instead of `PATH`
/// when given (tests use this to avoid touching the process environment).
pub(crate) fn credentials_in_file_with(
    path: &Path,
    registry: &str,
    helper_dir: Option<&Path>,
) -> Result<Option<Credentials>, AuthError> {
    let text = match std::fs::read(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(AuthError::Read {
                path: path.to_path_buf(),
                source,
            });
        }
    };
    let parse_err = |reason: String| AuthError::Parse {
        path: path.to_path_buf(),
        reason,
    };
    let doc: Value =
        serde_json::from_slice(&text).map_err(|e| parse_err(format!("not valid JSON: {e}")))?;
    let Some(doc) = doc.as_object() else {
        return Err(parse_err("not a JSON object".into()));
    };
    let object_field = |name: &str| -> Result<Option<&Map<String, Value>>, AuthError> {
        match doc.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Object(map)) => Ok(Some(map)),
            Some(_) => Err(parse_err(format!("\"{name}\" is not an object"))),
        }
    };
    let auths = object_field("auths")?;
    let helpers = object_field("credHelpers")?;

    // A helper named for this registry, else the store for all registries.
    let helper = match helpers.and_then(|h| find_entry(h, registry)) {
        Some((key, value)) => Some(
            value
                .as_str()
                .ok_or_else(|| parse_err(format!("credHelpers[\"{key}\"] is not a string")))?,
        ),
        None => match doc.get("credsStore") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if s.is_empty() => None,
            Some(Value::String(s)) => Some(s.as_str()),
            Some(_) => return Err(parse_err("\"credsStore\" is not a string".into())),
        },
    };
    if let Some(name) = helper {
        let program = helper_program(name, helper_dir).map_err(parse_err)?;
        if let Some(creds) = run_helper(&program, &server_url(registry))? {
            return Ok(Some(creds));
        }
    }

    let Some((key, entry)) = auths.and_then(|a| find_entry(a, registry)) else {
        return Ok(None);
    };
    auth_entry(key, entry).map_err(parse_err)
}

/// Docker Hub's names, as they may appear in references and config keys.
fn is_docker_hub(host: &str) -> bool {
    matches!(
        host,
        "docker.io" | "index.docker.io" | "registry-1.docker.io"
    )
}

/// A config key or registry name reduced to `host[:port]`, lowercase: scheme and path dropped.
fn normalize_key(key: &str) -> String {
    let key = key.trim();
    let key = key
        .strip_prefix("https://")
        .or_else(|| key.strip_prefix("http://"))
        .unwrap_or(key);
    let host = key.split('/').next().unwrap_or(key);
    host.to_ascii_lowercase()
}

/// The server URL handed to a credential helper: what `docker login` stores under.
fn server_url(registry: &str) -> String {
    if is_docker_hub(&normalize_key(registry)) {
        DOCKER_HUB_KEY.to_string()
    } else {
        registry.to_string()
    }
}

/// The entry of `map` for `registry`: the key written exactly as the registry first, then any key
/// that normalises to the same host (all of Docker Hub's names count as one).
fn find_entry<'a>(map: &'a Map<String, Value>, registry: &str) -> Option<(&'a str, &'a Value)> {
    if let Some((key, value)) = map.get_key_value(registry) {
        return Some((key.as_str(), value));
    }
    let wanted = normalize_key(registry);
    let hub = is_docker_hub(&wanted);
    map.iter()
        .find(|(key, _)| {
            let host = normalize_key(key);
            host == wanted || (hub && is_docker_hub(&host))
        })
        .map(|(key, value)| (key.as_str(), value))
}

/// One `auths` entry: `auth` (base64 `user:pass`) or `username`/`password`. An empty entry (`{}`,
/// as Docker writes next to a credential store) or one holding only an identity token is `None`.
fn auth_entry(key: &str, entry: &Value) -> Result<Option<Credentials>, String> {
    let Some(entry) = entry.as_object() else {
        return Err(format!("auths[\"{key}\"] is not an object"));
    };
    let string = |name: &str| -> Result<Option<&str>, String> {
        match entry.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if s.is_empty() => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.as_str())),
            Some(_) => Err(format!("auths[\"{key}\"].{name} is not a string")),
        }
    };
    if let Some(auth) = string("auth")? {
        let auth = auth.trim();
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(auth)
            .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(auth))
            .map_err(|e| format!("auths[\"{key}\"].auth is not valid base64: {e}"))?;
        let decoded = String::from_utf8(decoded)
            .map_err(|_| format!("auths[\"{key}\"].auth does not decode to UTF-8 text"))?;
        let Some((username, password)) = decoded.split_once(':') else {
            return Err(format!(
                "auths[\"{key}\"].auth does not decode to \"user:password\""
            ));
        };
        return Ok(Some(Credentials {
            username: username.to_string(),
            password: password.trim_end_matches(['\n', '\r']).to_string(),
        }));
    }
    match (string("username")?, string("password")?) {
        (Some(username), Some(password)) => Ok(Some(Credentials {
            username: username.to_string(),
            password: password.to_string(),
        })),
        (Some(_), None) => Err(format!("auths[\"{key}\"] has a username but no password")),
        _ => Ok(None),
    }
}

/// The program for helper `name`: `docker-credential-<name>`, in `dir` or on `PATH`.
fn helper_program(name: &str, dir: Option<&Path>) -> Result<PathBuf, String> {
    let valid = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if !valid {
        return Err(format!("credential helper name {name:?} is not valid"));
    }
    let file = format!("docker-credential-{name}");
    Ok(match dir {
        Some(dir) => dir.join(file),
        None => PathBuf::from(file),
    })
}

/// Runs `program get` with `server` on stdin. `Ok(None)` when the helper has no credentials for it
/// ("credentials not found") or holds an identity token (unsupported, see the module docs).
pub(crate) fn run_helper(program: &Path, server: &str) -> Result<Option<Credentials>, AuthError> {
    let helper_err = |reason: String| AuthError::Helper {
        helper: program.display().to_string(),
        server: server.to_string(),
        reason,
    };
    let mut child = Command::new(program)
        .arg("get")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| helper_err(format!("cannot run it: {e}")))?;
    if let Some(mut stdin) = child.stdin.take() {
        // A helper that exits without reading its input gives a broken pipe here; its exit status
        // and output tell the real story, so the write error is not fatal.
        let _ = stdin.write_all(server.as_bytes());
    }
    // Read both pipes on threads so a chatty helper cannot block on a full pipe while we wait.
    let pipe_reader = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut out = Vec::new();
            if let Some(pipe) = pipe {
                let _ = pipe.take(1 << 20).read_to_end(&mut out);
            }
            out
        })
    };
    let stdout = pipe_reader(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let stderr = pipe_reader(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if started.elapsed() > HELPER_TIMEOUT => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(helper_err(format!(
                    "no answer within {} s; killed",
                    HELPER_TIMEOUT.as_secs()
                )));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => return Err(helper_err(format!("waiting for it: {e}"))),
        }
    };
    let stdout = stdout.join().unwrap_or_default();
    let stderr = stderr.join().unwrap_or_default();
    let out_text = String::from_utf8_lossy(&stdout);
    let err_text = String::from_utf8_lossy(&stderr);
    if !status.success() {
        let said = format!("{} {}", out_text.trim(), err_text.trim());
        if said.to_ascii_lowercase().contains("credentials not found") {
            return Ok(None);
        }
        return Err(helper_err(format!("{status}: {}", said.trim())));
    }
    let answer: Value = serde_json::from_slice(&stdout)
        .map_err(|e| helper_err(format!("answer is not JSON: {e}")))?;
    let field = |name: &str| answer.get(name).and_then(Value::as_str).unwrap_or("");
    let (username, secret) = (field("Username"), field("Secret"));
    if username == "<token>" || (username.is_empty() && secret.is_empty()) {
        return Ok(None);
    }
    Ok(Some(Credentials {
        username: username.to_string(),
        password: secret.to_string(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn creds(user: &str, pass: &str) -> Credentials {
        Credentials {
            username: user.into(),
            password: pass.into(),
        }
    }

    fn b64(s: &str) -> String {
        base64::engine::general_purpose::STANDARD.encode(s)
    }

    fn write_config(dir: &Path, doc: &Value) -> PathBuf {
        let path = dir.join("config.json");
        std::fs::write(&path, serde_json::to_vec_pretty(doc).unwrap()).unwrap();
        path
    }

    #[test]
    fn auth_field_and_key_forms() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_config(
            dir.path(),
            &serde_json::json!({"auths": {
                "https://index.docker.io/v1/": {"auth": b64("hub:hubpass")},
                "quay.io": {"auth": b64("quay:pa:ss")},
                "http://127.0.0.1:5000": {"auth": b64("local:l")},
                "https://ghcr.io/v2/": {"username": "gh", "password": "ghp"},
                "Registry.Example.COM:8443/some/repo": {"auth": b64("ex:e")},
                "empty.io": {},
            }}),
        );
        let get = |reg: &str| credentials_in_file(&path, reg).unwrap();
        assert_eq!(get("docker.io"), Some(creds("hub", "hubpass")));
        assert_eq!(get("index.docker.io"), Some(creds("hub", "hubpass")));
        assert_eq!(get("registry-1.docker.io"), Some(creds("hub", "hubpass")));
        // The password keeps any further colons.
        assert_eq!(get("quay.io"), Some(creds("quay", "pa:ss")));
        assert_eq!(get("127.0.0.1:5000"), Some(creds("local", "l")));
        assert_eq!(get("127.0.0.1:5001"), None);
        assert_eq!(get("127.0.0.1"), None);
        assert_eq!(get("ghcr.io"), Some(creds("gh", "ghp")));
        assert_eq!(get("registry.example.com:8443"), Some(creds("ex", "e")));
        assert_eq!(get("empty.io"), None);
        assert_eq!(get("other.io"), None);
    }

    #[test]
    fn hub_short_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_config(
            dir.path(),
            &serde_json::json!({"auths": {"docker.io": {"auth": b64("u:p")}}}),
        );
        assert_eq!(
            credentials_in_file(&path, "docker.io").unwrap(),
            Some(creds("u", "p"))
        );
        assert_eq!(
            credentials_in_file(&path, "index.docker.io").unwrap(),
            Some(creds("u", "p"))
        );
    }

    #[test]
    fn missing_file_is_none_and_broken_file_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(
            credentials_in_file(&dir.path().join("nope.json"), "quay.io").unwrap(),
            None
        );
        let path = dir.path().join("bad.json");
        std::fs::write(&path, "{not json").unwrap();
        let err = credentials_in_file(&path, "quay.io")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("bad.json") && err.contains("not valid JSON"),
            "{err}"
        );

        let path = write_config(
            dir.path(),
            &serde_json::json!({"auths": {"quay.io": {"auth": "!!!"}}}),
        );
        let err = credentials_in_file(&path, "quay.io")
            .unwrap_err()
            .to_string();
        assert!(err.contains("auths[\"quay.io\"].auth"), "{err}");
        let path = write_config(
            dir.path(),
            &serde_json::json!({"auths": {"quay.io": {"auth": b64("nocolon")}}}),
        );
        let err = credentials_in_file(&path, "quay.io")
            .unwrap_err()
            .to_string();
        assert!(err.contains("user:password"), "{err}");
    }

    #[test]
    fn explicit_wins() {
        let explicit = creds("x", "y");
        assert_eq!(
            credentials_for("quay.io", Some(&explicit)).unwrap(),
            Some(explicit)
        );
    }

    /// A fake `docker-credential-test` that knows one server and logs what it was asked.
    #[cfg(unix)]
    fn fake_helper(dir: &Path, name: &str) {
        use std::os::unix::fs::PermissionsExt;
        let script = dir.join(format!("docker-credential-{name}"));
        let log = dir.join(format!("{name}.log"));
        std::fs::write(
            &script,
            format!(
                r#"#!/bin/sh
[ "$1" = get ] || exit 3
read -r server
echo "$server" >> '{log}'
case "$server" in
  https://index.docker.io/v1/) echo '{{"ServerURL":"x","Username":"hubuser","Secret":"hubsecret"}}' ;;
  quay.io) echo '{{"ServerURL":"quay.io","Username":"quser","Secret":"qsecret"}}' ;;
  token.io) echo '{{"ServerURL":"token.io","Username":"<token>","Secret":"refresh"}}' ;;
  broken.io) echo 'garbage' ;;
  fail.io) echo 'keychain locked' >&2; exit 1 ;;
  *) echo 'credentials not found in native keychain'; exit 1 ;;
esac
"#,
                log = log.display()
            ),
        )
        .unwrap();
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn credential_helpers() {
        let dir = tempfile::tempdir().unwrap();
        fake_helper(dir.path(), "test");
        let path = write_config(
            dir.path(),
            &serde_json::json!({
                "credHelpers": {"quay.io": "test", "docker.io": "test", "token.io": "test",
                                "broken.io": "test", "fail.io": "test", "unknown.io": "test"},
                "auths": {"unknown.io": {"auth": b64("fallback:f")}},
            }),
        );
        let get = |reg: &str| credentials_in_file_with(&path, reg, Some(dir.path()));
        assert_eq!(get("quay.io").unwrap(), Some(creds("quser", "qsecret")));
        // Hub is asked about under its canonical key.
        assert_eq!(
            get("docker.io").unwrap(),
            Some(creds("hubuser", "hubsecret"))
        );
        // "credentials not found": fall back to the auths entry.
        assert_eq!(get("unknown.io").unwrap(), Some(creds("fallback", "f")));
        // Identity tokens are not supported: treated as absent.
        assert_eq!(get("token.io").unwrap(), None);
        // No helper for this registry and no store: nothing.
        assert_eq!(get("nohelper.io").unwrap(), None);
        let err = get("broken.io").unwrap_err().to_string();
        assert!(
            err.contains("not JSON") && err.contains("broken.io"),
            "{err}"
        );
        let err = get("fail.io").unwrap_err().to_string();
        assert!(err.contains("keychain locked"), "{err}");
        let log = std::fs::read_to_string(dir.path().join("test.log")).unwrap();
        assert!(log.lines().any(|l| l == DOCKER_HUB_KEY), "{log}");
    }

    #[cfg(unix)]
    #[test]
    fn creds_store_for_all_registries() {
        let dir = tempfile::tempdir().unwrap();
        fake_helper(dir.path(), "store");
        let path = write_config(
            dir.path(),
            &serde_json::json!({"credsStore": "store", "auths": {"quay.io": {}}}),
        );
        let get = |reg: &str| credentials_in_file_with(&path, reg, Some(dir.path()));
        assert_eq!(get("quay.io").unwrap(), Some(creds("quser", "qsecret")));
        assert_eq!(get("elsewhere.io").unwrap(), None);
        // A helper that does not exist is an error that names it.
        let path = write_config(dir.path(), &serde_json::json!({"credsStore": "absent"}));
        let err = credentials_in_file_with(&path, "quay.io", Some(dir.path()))
            .unwrap_err()
            .to_string();
        assert!(err.contains("docker-credential-absent"), "{err}");
        // A helper name that could escape its directory is refused.
        let path = write_config(dir.path(), &serde_json::json!({"credsStore": "../x"}));
        assert!(credentials_in_file(&path, "quay.io").is_err());
    }

    #[test]
    fn key_normalisation() {
        assert_eq!(
            normalize_key("https://index.docker.io/v1/"),
            "index.docker.io"
        );
        assert_eq!(normalize_key("http://LOCALHOST:5000"), "localhost:5000");
        assert_eq!(normalize_key("quay.io/org/repo"), "quay.io");
        assert_eq!(server_url("docker.io"), DOCKER_HUB_KEY);
        assert_eq!(server_url("127.0.0.1:5000"), "127.0.0.1:5000");
    }
}
