//! The registry client against a real registry (`docker-registry`, distribution 2.8) started by
//! `common::registry::TestRegistry`: open, behind htpasswd, and behind a real Bearer token server;
//! images built in the test ([`OciLayout`]) and pushed with skopeo. Misbehaving servers (a stall
//! mid-body, an early close, an oversized manifest, a cross-host redirect) are small std
//! `TcpListener`s in the test.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use common::registry::{BuiltImage, OciLayout, RegistryAuth, TestRegistry, sha256_digest};
use rootsift::source::image::auth;
use rootsift::source::image::registry::{
    Client, Credentials, Fetched, RegistryError, RegistryOptions,
};

const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";

fn insecure() -> RegistryOptions {
    RegistryOptions {
        insecure: true,
        ..Default::default()
    }
}

fn with_creds(user: &str, pass: &str) -> RegistryOptions {
    RegistryOptions {
        creds: Some(Credentials {
            username: user.into(),
            password: pass.into(),
        }),
        ..insecure()
    }
}

/// A two-layer image (a certificate-ish file in each) in a fresh layout.
fn two_layer_image(dir: &Path) -> (OciLayout, BuiltImage) {
    let mut layout = OciLayout::new(&dir.join("layout"));
    let image = layout.add_image(
        "v1",
        &[
            &[(
                "etc/ssl/certs/a.pem",
                b"-----BEGIN CERTIFICATE-----\nAAAA\n",
            )],
            &[
                ("usr/share/b.txt", b"second layer\n"),
                ("usr/share/empty/", b""),
            ],
        ],
    );
    (layout, image)
}

fn sha256_of_stream(mut reader: impl Read) -> std::io::Result<String> {
    use sha2::Digest;
    let mut hasher = sha2::Sha256::new();
    let mut buf = vec![0u8; 8192];
    loop {
        let n = reader.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(format!("sha256:{}", hex::encode(hasher.finalize())))
}

/// Fetches the manifest by tag and by digest and every blob, checking each against `image`.
fn pull_and_check(client: &Client, tag: &str, image: &BuiltImage) {
    let by_tag = client.manifest(tag).expect("manifest by tag");
    check_manifest(&by_tag, image);
    let by_digest = client
        .manifest(&image.manifest_digest)
        .expect("manifest by digest");
    check_manifest(&by_digest, image);
    let mut digests = vec![image.config_digest.clone()];
    digests.extend(image.layer_digests.iter().cloned());
    for digest in &digests {
        let stream = client.blob(digest).expect("blob");
        assert_eq!(&sha256_of_stream(stream).expect("read blob"), digest);
    }
}

fn check_manifest(fetched: &Fetched, image: &BuiltImage) {
    assert_eq!(sha256_digest(&fetched.body), image.manifest_digest);
    assert_eq!(fetched.body, image.manifest);
    assert_eq!(
        fetched.digest.as_deref(),
        Some(image.manifest_digest.as_str())
    );
    assert_eq!(fetched.media_type.as_deref(), Some(OCI_MANIFEST));
}

#[test]
fn open_registry_manifests_blobs_and_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let registry = TestRegistry::start(RegistryAuth::None);
    let (layout, image) = two_layer_image(tmp.path());
    registry.push(&layout.reference("v1"), "test/image:v1");

    let client = Client::new(&registry.addr(), "test/image", &insecure()).unwrap();
    pull_and_check(&client, "v1", &image);
    assert_eq!(registry.manifest_gets(), 2);
    assert_eq!(registry.blob_gets(), 3);

    // Blobs from several threads at once through one client.
    let client = Arc::new(client);
    let handles: Vec<_> = image
        .layer_digests
        .iter()
        .cloned()
        .map(|digest| {
            let client = client.clone();
            thread::spawn(move || {
                let got = sha256_of_stream(client.blob(&digest).unwrap()).unwrap();
                assert_eq!(got, digest);
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }

    let err = client.manifest("nope").unwrap_err();
    let msg = err.to_string();
    assert!(
        matches!(err, RegistryError::Status { status: 404, .. }),
        "{msg}"
    );
    assert!(
        msg.contains("MANIFEST_UNKNOWN") && msg.contains("404") && msg.contains(&registry.addr()),
        "{msg}"
    );

    let missing = sha256_digest(b"not there");
    let msg = client
        .blob(&missing)
        .err()
        .expect("unknown blob")
        .to_string();
    assert!(
        msg.contains("BLOB_UNKNOWN") && msg.contains(&missing),
        "{msg}"
    );

    let other = Client::new(&registry.addr(), "no/such-repo", &insecure()).unwrap();
    let msg = other.manifest("v1").unwrap_err().to_string();
    assert!(
        msg.contains("NAME_UNKNOWN") || msg.contains("MANIFEST_UNKNOWN"),
        "{msg}"
    );
}

#[test]
fn multi_platform_index() {
    let tmp = tempfile::tempdir().unwrap();
    let registry = TestRegistry::start(RegistryAuth::None);
    let mut layout = OciLayout::new(&tmp.path().join("layout"));
    let amd64 = layout.add_image_for("amd64", "linux", "amd64", &[&[("etc/x", b"amd64")]]);
    let arm64 = layout.add_image_for("arm64", "linux", "arm64", &[&[("etc/x", b"arm64")]]);
    let (index_digest, index) = layout.add_index("multi", &[&amd64, &arm64]);
    registry.push_all(&layout.reference("multi"), "test/multi:latest");

    let client = Client::new(&registry.addr(), "test/multi", &insecure()).unwrap();
    let fetched = client.manifest("latest").unwrap();
    assert_eq!(fetched.media_type.as_deref(), Some(OCI_INDEX));
    assert_eq!(fetched.body, index);
    assert_eq!(fetched.digest.as_deref(), Some(index_digest.as_str()));
    for image in [&amd64, &arm64] {
        let fetched = client.manifest(&image.manifest_digest).unwrap();
        check_manifest(&fetched, image);
        let layer = client.blob(&image.layer_digests[0]).unwrap();
        assert_eq!(sha256_of_stream(layer).unwrap(), image.layer_digests[0]);
    }
}

#[test]
fn htpasswd_registry() {
    let tmp = tempfile::tempdir().unwrap();
    let registry = TestRegistry::start(RegistryAuth::htpasswd("alice", "s3cret"));
    let (layout, image) = two_layer_image(tmp.path());
    registry.push(&layout.reference("v1"), "private/image:v1");
    let addr = registry.addr();

    // Right credentials from the command line.
    let client = Client::new(&addr, "private/image", &with_creds("alice", "s3cret")).unwrap();
    pull_and_check(&client, "v1", &image);

    // Wrong credentials: a clear error naming the registry.
    let client = Client::new(&addr, "private/image", &with_creds("alice", "wrong")).unwrap();
    let err = client.manifest("v1").unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, RegistryError::Auth { .. }), "{msg}");
    assert!(
        msg.starts_with(&format!("authentication failed for {addr}:"))
            && msg.contains("401")
            && msg.contains("wrong user name or password"),
        "{msg}"
    );
    let msg = client
        .blob(&image.layer_digests[0])
        .err()
        .expect("blob with wrong credentials")
        .to_string();
    assert!(msg.contains("authentication failed"), "{msg}");

    // Credentials from a config file (the same lookup REGISTRY_AUTH_FILE feeds).
    let config = tmp.path().join("auth.json");
    std::fs::write(
        &config,
        serde_json::json!({"auths": {format!("http://{addr}"): {"auth": "YWxpY2U6czNjcmV0"}}})
            .to_string(),
    )
    .unwrap();
    let creds = auth::credentials_in_file(&config, &addr).unwrap().unwrap();
    assert_eq!(creds.username, "alice");
    let options = RegistryOptions {
        creds: Some(creds),
        ..insecure()
    };
    let client = Client::new(&addr, "private/image", &options).unwrap();
    check_manifest(&client.manifest("v1").unwrap(), &image);
}

/// The child half of [`htpasswd_registry_auth_file_env`]: runs only when that test spawns this
/// binary with the environment set, so the process-global variables never leak into other tests.
#[test]
fn auth_file_env_child() {
    let (Ok(addr), Ok(digest)) = (
        std::env::var("ROOTSIFT_TEST_REGISTRY"),
        std::env::var("ROOTSIFT_TEST_DIGEST"),
    ) else {
        return;
    };
    // No --creds: REGISTRY_AUTH_FILE must supply them, lazily on the 401.
    let client = Client::new(&addr, "private/image", &insecure()).unwrap();
    let fetched = client
        .manifest("v1")
        .unwrap_or_else(|e| panic!("manifest with REGISTRY_AUTH_FILE: {e}"));
    assert_eq!(sha256_digest(&fetched.body), digest);
}

#[test]
fn htpasswd_registry_auth_file_env() {
    let tmp = tempfile::tempdir().unwrap();
    let registry = TestRegistry::start(RegistryAuth::htpasswd("bob", "hunter2"));
    let (layout, image) = two_layer_image(tmp.path());
    registry.push(&layout.reference("v1"), "private/image:v1");
    let addr = registry.addr();
    let config = tmp.path().join("auth.json");
    std::fs::write(
        &config,
        serde_json::json!({"auths": {&addr: {"username": "bob", "password": "hunter2"}}})
            .to_string(),
    )
    .unwrap();
    let empty = tmp.path().join("empty-docker-config");
    std::fs::create_dir(&empty).unwrap();

    let run_child = |auth_file: &Path| {
        Command::new(std::env::current_exe().unwrap())
            .args(["auth_file_env_child", "--exact", "--nocapture"])
            .env("ROOTSIFT_TEST_REGISTRY", &addr)
            .env("ROOTSIFT_TEST_DIGEST", &image.manifest_digest)
            .env("REGISTRY_AUTH_FILE", auth_file)
            .env_remove("XDG_RUNTIME_DIR")
            .env("DOCKER_CONFIG", &empty)
            .output()
            .unwrap()
    };
    let out = run_child(&config);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success() && text.contains("1 passed"),
        "child failed:\n{text}"
    );

    // Without an entry anywhere, the child fails with the "requires credentials" error.
    let out = run_child(&tmp.path().join("absent.json"));
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{text}");
    assert!(
        text.contains(&format!("authentication failed for {addr}")) && text.contains("none given"),
        "{text}"
    );
}

#[test]
fn token_registry() {
    let tmp = tempfile::tempdir().unwrap();
    let registry = TestRegistry::start(RegistryAuth::token("carol", "t0ken-pass"));
    let (layout, image) = two_layer_image(tmp.path());
    // skopeo goes through the Bearer flow to push: the token server and the registry agree.
    registry.push(&layout.reference("v1"), "tok/image:v1");
    let addr = registry.addr();

    // Right credentials: one token, reused for every later request.
    let before = registry.token_gets();
    let client = Client::new(&addr, "tok/image", &with_creds("carol", "t0ken-pass")).unwrap();
    pull_and_check(&client, "v1", &image);
    assert_eq!(registry.token_gets() - before, 1, "the token is cached");
    assert_eq!(registry.manifest_gets(), 2);
    assert_eq!(registry.blob_gets(), 3);

    // Anonymous: the token server grants nothing, the registry refuses the token.
    let anonymous = Client::new(&addr, "tok/image", &with_creds_none()).unwrap();
    let err = anonymous.manifest("v1").unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, RegistryError::Auth { .. }), "{msg}");
    assert!(
        msg.starts_with(&format!("authentication failed for {addr}:")),
        "{msg}"
    );

    // Wrong credentials: the token server's 401 and its message.
    let wrong = Client::new(&addr, "tok/image", &with_creds("carol", "nope")).unwrap();
    let msg = wrong.manifest("v1").unwrap_err().to_string();
    assert!(
        msg.contains("authentication failed")
            && msg.contains("token server")
            && msg.contains("incorrect username or password"),
        "{msg}"
    );
}

/// No `--creds`, and a config environment that cannot have an entry for a random loopback port.
fn with_creds_none() -> RegistryOptions {
    insecure()
}

// ---------------------------------------------------------------------------------------------
// Misbehaving servers.

/// A server on 127.0.0.1 that hands each connection's request head to `handler`. Returns
/// `127.0.0.1:PORT`. The accept thread lives until the test process ends.
fn fake_server<F>(handler: F) -> String
where
    F: Fn(&str, TcpStream) + Send + Sync + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let handler = Arc::new(handler);
    thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let handler = handler.clone();
            thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut head = String::new();
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                    head.push_str(&line);
                }
                handler(&head, stream);
            });
        }
    });
    addr
}

const DIGEST: &str = "sha256:0000000000000000000000000000000000000000000000000000000000000000";

#[test]
fn stalled_blob_times_out() {
    let addr = fake_server(|_, mut stream| {
        let _ = stream.write_all(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: 1000\r\n\r\n0123456789",
        );
        let _ = stream.flush();
        thread::sleep(Duration::from_secs(30));
    });
    let options = RegistryOptions {
        timeout: Duration::from_secs(2),
        ..insecure()
    };
    let client = Client::new(&addr, "stall/repo", &options).unwrap();
    let started = Instant::now();
    let mut reader = client.blob(DIGEST).unwrap();
    let mut body = Vec::new();
    let err = reader.read_to_end(&mut body).unwrap_err();
    let elapsed = started.elapsed();
    assert_eq!(body.len(), 10);
    assert!(elapsed >= Duration::from_millis(1500), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(10), "{elapsed:?}");
    let msg = err.to_string();
    assert!(msg.contains("timed out") && msg.contains(&addr), "{msg}");
    assert_eq!(err.kind(), std::io::ErrorKind::TimedOut);
    let inner = err
        .get_ref()
        .and_then(|e| e.downcast_ref::<RegistryError>());
    assert!(
        matches!(inner, Some(RegistryError::Timeout { .. })),
        "{inner:?}"
    );
}

#[test]
fn stalled_headers_time_out() {
    let addr = fake_server(|_, _stream| thread::sleep(Duration::from_secs(30)));
    let options = RegistryOptions {
        timeout: Duration::from_secs(1),
        ..insecure()
    };
    let client = Client::new(&addr, "stall/repo", &options).unwrap();
    let started = Instant::now();
    let err = client.manifest("latest").unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(8));
    let msg = err.to_string();
    assert!(matches!(err, RegistryError::Timeout { .. }), "{msg}");
    assert!(msg.contains(&addr), "{msg}");
}

#[test]
fn early_close_is_an_error() {
    let addr = fake_server(|_, mut stream| {
        let _ = stream.write_all(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/vnd.oci.image.manifest.v1+json\r\nContent-Length: 1000\r\n\r\n0123456789",
        );
        // Dropping the stream closes the connection 990 bytes short.
    });
    let client = Client::new(&addr, "short/repo", &insecure()).unwrap();
    let mut body = Vec::new();
    let err = client
        .blob(DIGEST)
        .unwrap()
        .read_to_end(&mut body)
        .unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains(&addr), "{msg}");
    assert!(msg.contains("10 of 1000"), "{msg}");

    let err = client.manifest("latest").unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, RegistryError::ShortBody { .. }), "{msg}");
}

#[test]
fn oversized_manifest_is_refused() {
    // Announced too big.
    let addr = fake_server(|_, mut stream| {
        let _ = stream.write_all(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/vnd.oci.image.manifest.v1+json\r\nContent-Length: 5000000\r\n\r\n{",
        );
    });
    let client = Client::new(&addr, "big/repo", &insecure()).unwrap();
    let err = client.manifest("latest").unwrap_err();
    assert!(matches!(err, RegistryError::TooLarge { .. }), "{err}");
    assert!(
        err.to_string().contains("larger than 4194304 bytes"),
        "{err}"
    );

    // Chunked, no length: cut off past the limit.
    let addr = fake_server(|_, mut stream| {
        let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
        let chunk = vec![b' '; 1 << 20];
        for _ in 0..6 {
            let _ = write!(stream, "{:x}\r\n", chunk.len());
            if stream.write_all(&chunk).is_err() || stream.write_all(b"\r\n").is_err() {
                return;
            }
        }
        let _ = stream.write_all(b"0\r\n\r\n");
    });
    let client = Client::new(&addr, "big/repo", &insecure()).unwrap();
    let err = client.manifest("latest").unwrap_err();
    assert!(matches!(err, RegistryError::TooLarge { .. }), "{err}");
}

#[test]
fn redirect_to_another_host_drops_authorization() {
    // Blob storage on "localhost" (another host name than the registry's 127.0.0.1).
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let storage = {
        let seen = seen.clone();
        fake_server(move |head, mut stream| {
            seen.lock().unwrap().push(head.to_string());
            let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello");
        })
    };
    let storage_port = storage.rsplit(':').next().unwrap().to_string();
    let registry = fake_server(move |head, mut stream| {
        if !head.to_ascii_lowercase().contains("authorization: basic") {
            let _ = stream.write_all(
                b"HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"fake\"\r\nContent-Length: 0\r\n\r\n",
            );
            return;
        }
        let _ = write!(
            stream,
            "HTTP/1.1 307 Temporary Redirect\r\nLocation: http://localhost:{storage_port}/blob?sig=x\r\nContent-Length: 0\r\n\r\n"
        );
    });
    let client = Client::new(&registry, "redir/repo", &with_creds("u", "p")).unwrap();
    let mut body = String::new();
    client
        .blob(DIGEST)
        .unwrap()
        .read_to_string(&mut body)
        .unwrap();
    assert_eq!(body, "hello");
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 1);
    assert!(seen[0].starts_with("GET /blob?sig=x "), "{}", seen[0]);
    assert!(
        !seen[0].to_ascii_lowercase().contains("authorization"),
        "credentials leaked to another host:\n{}",
        seen[0]
    );
}

#[test]
fn expired_token_is_renewed_once() {
    // A fake registry whose tokens are good for one request each; the token server counts.
    let issued = Arc::new(Mutex::new(0usize));
    let token_server = {
        let issued = issued.clone();
        fake_server(move |head, mut stream| {
            assert!(head.starts_with("GET /token?"), "{head}");
            assert!(head.contains("scope=") && head.contains("pull"), "{head}");
            let mut n = issued.lock().unwrap();
            *n += 1;
            let body = format!("{{\"access_token\":\"tok{n}\"}}");
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            );
        })
    };
    let used: Arc<Mutex<Vec<String>>> = Arc::default();
    let registry = {
        let used = used.clone();
        fake_server(move |head, mut stream| {
            let token = head
                .lines()
                .find_map(|l| {
                    let (name, value) = l.split_once(':')?;
                    name.eq_ignore_ascii_case("authorization")
                        .then(|| value.trim().strip_prefix("Bearer "))?
                })
                .map(|t| t.trim().to_string());
            let mut used = used.lock().unwrap();
            match token {
                Some(t) if !used.contains(&t) => {
                    used.push(t);
                    let _ = stream.write_all(
                        b"HTTP/1.1 200 OK\r\nContent-Type: application/vnd.oci.image.manifest.v1+json\r\nContent-Length: 2\r\n\r\n{}",
                    );
                }
                _ => {
                    let _ = write!(
                        stream,
                        "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Bearer realm=\"http://{token_server}/token\",service=\"fake\",scope=\"repository:ren/repo:pull\"\r\nContent-Length: 0\r\n\r\n"
                    );
                }
            }
        })
    };
    let client = Client::new(&registry, "ren/repo", &insecure()).unwrap();
    for _ in 0..3 {
        assert_eq!(client.manifest("latest").unwrap().body, b"{}");
    }
    assert_eq!(*issued.lock().unwrap(), 3);
}

#[test]
fn a_kept_alive_connection_the_server_closed_is_replaced() {
    // Each connection answers its first request and keeps the connection open (HTTP/1.1, no
    // `Connection: close`), then resets it when a second request arrives on it: what a client
    // meets when a registry drops an idle connection just as it is reused. The GET goes again on
    // a new connection, once.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let (answered, reset) = (Arc::new(Mutex::new(0usize)), Arc::new(Mutex::new(0usize)));
    {
        let (answered, reset) = (answered.clone(), reset.clone());
        thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (answered, reset) = (answered.clone(), reset.clone());
                thread::spawn(move || {
                    let mut reader = BufReader::new(stream.try_clone().unwrap());
                    let mut writer = stream;
                    for request in 0.. {
                        let mut line = String::new();
                        loop {
                            line.clear();
                            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                                return;
                            }
                            if line == "\r\n" {
                                break;
                            }
                        }
                        if request > 0 {
                            *reset.lock().unwrap() += 1;
                            let _ = reset_on_close(&writer);
                            return;
                        }
                        *answered.lock().unwrap() += 1;
                        let _ = writer.write_all(
                            b"HTTP/1.1 200 OK\r\nContent-Type: application/vnd.oci.image.manifest.v1+json\r\nContent-Length: 2\r\n\r\n{}",
                        );
                    }
                });
            }
        });
    }
    let client = Client::new(&addr, "keep/alive", &insecure()).unwrap();
    for _ in 0..3 {
        assert_eq!(client.manifest("latest").unwrap().body, b"{}");
    }
    assert_eq!(*answered.lock().unwrap(), 3);
    assert_eq!(*reset.lock().unwrap(), 2, "the connections were not reused");
}

/// Makes closing `stream` send a reset (SO_LINGER 0), as a server dropping a connection does.
fn reset_on_close(stream: &TcpStream) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    let linger = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: setsockopt on a socket this test owns, with a pointer to a live `linger` of the
    // size passed.
    let rc = unsafe {
        libc::setsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&linger as *const libc::linger).cast(),
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        )
    };
    if rc != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

#[test]
fn transport_errors_name_the_url() {
    // Nothing listening.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr = format!("127.0.0.1:{port}");
    let client = Client::new(&addr, "x/y", &insecure()).unwrap();
    let err = client.manifest("latest").unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, RegistryError::Transport { .. }), "{msg}");
    assert!(
        msg.contains(&format!("http://{addr}/v2/x/y/manifests/latest")),
        "{msg}"
    );

    // HTTPS (the default) to a plain-HTTP server: a TLS error, not a hang or a panic.
    let server = fake_server(|_, mut stream| {
        let _ = stream.write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
    });
    let client = Client::new(&server, "x/y", &RegistryOptions::default()).unwrap();
    let msg = client.manifest("latest").unwrap_err().to_string();
    assert!(
        msg.contains(&format!("https://{server}/v2/")) && msg.contains("--insecure"),
        "{msg}"
    );
}
