//! Image names as users write them: skopeo's transport syntax and Docker references. Pure.
//!
//! - `docker-archive:PATH[:NAME]`, `oci:DIR[:TAG]`, `oci-archive:PATH[:TAG]`: as in skopeo, the
//!   path ends at the first `:` after the transport.
//! - `docker://[HOST/]REPO[:TAG][@DIGEST]`, and a bare reference (`alpine:3.20`) — the caller
//!   decides that a bare argument is a reference only when it is not an existing path.
//! - `-`: a `docker save` stream on standard input.
//!
//! Docker references follow distribution's `reference` grammar (and Docker's normalisation): the
//! first component is a registry host when it contains `.` or `:`, is `localhost` or has an
//! uppercase letter, and then must be a DNS name or IP address with an optional port; otherwise
//! the image is on Docker Hub (`docker.io`), where a one-component name lives under `library/`.
//! The name as printed is at most 255 characters. Without tag and digest the tag is `latest`.
//! The registry client checks names with the same functions.

use std::path::PathBuf;

/// An image and where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageRef {
    /// `-`: a `docker save` stream (docker-archive or OCI layout in a tar) on standard input.
    Stdin,
    /// A `docker save` tar file; the optional name picks one image of several.
    DockerArchive {
        /// The tar file.
        path: PathBuf,
        /// `repo:tag` when given.
        name: Option<String>,
    },
    /// An OCI image layout directory.
    OciDir {
        /// The layout's directory.
        path: PathBuf,
        /// The `org.opencontainers.image.ref.name` to pick.
        tag: Option<String>,
    },
    /// An OCI image layout in a tar file.
    OciArchive {
        /// The tar file.
        path: PathBuf,
        /// The tag to pick.
        tag: Option<String>,
    },
    /// An image in a registry.
    Registry(Reference),
}

/// A Docker reference: `registry/repository[:tag][@digest]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    /// The registry host as written (`docker.io` for Docker Hub), with its port if any.
    pub registry: String,
    /// The repository path (`library/alpine` on Docker Hub).
    pub repository: String,
    /// The tag; `latest` when neither tag nor digest is given.
    pub tag: Option<String>,
    /// The manifest digest, when pinned.
    pub digest: Option<String>,
}

impl Reference {
    /// What to ask the registry for: the digest when pinned, else the tag.
    pub fn manifest_reference(&self) -> &str {
        self.digest
            .as_deref()
            .or(self.tag.as_deref())
            .unwrap_or("latest")
    }
}

impl std::fmt::Display for Reference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.registry, self.repository)?;
        if let Some(tag) = &self.tag {
            write!(f, ":{tag}")?;
        }
        if let Some(digest) = &self.digest {
            write!(f, "@{digest}")?;
        }
        Ok(())
    }
}

/// Why an image name cannot be understood.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{name:?}: {reason}")]
pub struct ReferenceError {
    /// The name as given (cut to 200 characters).
    pub name: String,
    /// What is wrong with it.
    pub reason: String,
}

fn invalid(name: &str, reason: impl Into<String>) -> ReferenceError {
    ReferenceError {
        name: name.chars().take(200).collect(),
        reason: reason.into(),
    }
}

/// `PATH[:REST]` as skopeo splits it: at the first `:`.
fn path_and_name(rest: &str) -> (PathBuf, Option<String>) {
    match rest.split_once(':') {
        Some((path, name)) if !name.is_empty() => (PathBuf::from(path), Some(name.to_string())),
        Some((path, _)) => (PathBuf::from(path), None),
        None => (PathBuf::from(rest), None),
    }
}

impl ImageRef {
    /// Parses an argument with an explicit transport (or `-`); `None` when it has none, so the
    /// caller can look at the file system before trying [`parse_reference`].
    pub fn parse_transport(arg: &str) -> Option<Result<ImageRef, ReferenceError>> {
        if arg == "-" {
            return Some(Ok(ImageRef::Stdin));
        }
        let (transport, rest) = arg.split_once(':')?;
        let empty = || Some(Err(invalid(arg, "no path after the transport")));
        Some(Ok(match transport {
            "docker" => {
                return Some(match rest.strip_prefix("//") {
                    Some(reference) => parse_reference(reference).map(ImageRef::Registry),
                    None => Err(invalid(
                        arg,
                        "docker: references are written docker://HOST/REPO",
                    )),
                });
            }
            "docker-archive" | "oci" | "oci-archive" if rest.is_empty() => return empty(),
            "docker-archive" => {
                let (path, name) = path_and_name(rest);
                ImageRef::DockerArchive { path, name }
            }
            "oci" => {
                let (path, tag) = path_and_name(rest);
                ImageRef::OciDir { path, tag }
            }
            "oci-archive" => {
                let (path, tag) = path_and_name(rest);
                ImageRef::OciArchive { path, tag }
            }
            _ => return None,
        }))
    }
}

/// The longest name (registry host and repository path, as printed: `docker.io/library/alpine`)
/// that distribution's reference grammar accepts.
pub const NAME_MAX: usize = 255;

/// The longest tag the grammar accepts.
pub const TAG_MAX: usize = 128;

/// Whether `host` is a registry host as the grammar writes it: a DNS name or IPv4 address
/// (labels of letters, digits and inner `-`, joined by `.`), or an IPv6 address in brackets,
/// each with an optional `:PORT`.
pub fn valid_host(host: &str) -> bool {
    let (address_ok, port) = match host.strip_prefix('[') {
        Some(bracketed) => match bracketed.split_once(']') {
            Some((v6, port)) => (v6.parse::<std::net::Ipv6Addr>().is_ok(), port),
            None => return false,
        },
        None => {
            let (name, port) = host.split_at(host.find(':').unwrap_or(host.len()));
            let label_ok = |label: &str| {
                let b = label.as_bytes();
                !b.is_empty()
                    && b.len() <= 63
                    && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
                    && b[0] != b'-'
                    && b[b.len() - 1] != b'-'
            };
            (name.len() <= 253 && name.split('.').all(label_ok), port)
        }
    };
    // Nothing, or `:` and one to five digits.
    let port_ok = port.is_empty()
        || port.strip_prefix(':').is_some_and(|p| {
            !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit())
        });
    address_ok && port_ok
}

/// Whether `component` is one path component of a repository: lowercase alphanumerics, joined by
/// one `.`, one `_`, `__`, or any number of `-`.
fn valid_component(component: &str) -> bool {
    let b = component.as_bytes();
    let mut i = 0;
    loop {
        let run = b[i..]
            .iter()
            .take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
            .count();
        if run == 0 {
            return false;
        }
        i += run;
        if i == b.len() {
            return true;
        }
        let sep = match b[i] {
            b'.' => 1,
            b'_' if b.get(i + 1) == Some(&b'_') => 2,
            b'_' => 1,
            b'-' => b[i..].iter().take_while(|&&c| c == b'-').count(),
            _ => return false,
        };
        i += sep;
        if i == b.len() {
            return false;
        }
    }
}

/// Whether `path` is a repository path (`library/alpine`): components separated by `/`.
pub fn valid_repository(path: &str) -> bool {
    !path.is_empty() && path.len() <= NAME_MAX && path.split('/').all(valid_component)
}

/// Whether `tag` is a tag: a word character, then up to 127 word characters, `.` or `-`.
pub fn valid_tag(tag: &str) -> bool {
    let b = tag.as_bytes();
    let word = |c: &u8| c.is_ascii_alphanumeric() || *c == b'_';
    !b.is_empty()
        && b.len() <= TAG_MAX
        && word(&b[0])
        && b.iter().all(|c| word(c) || matches!(c, b'.' | b'-'))
}

/// Whether the first component of a name is a registry host, as Docker decides it: it contains a
/// `.` or a `:`, is `localhost`, or has an uppercase letter (which a repository cannot).
fn names_a_host(first: &str) -> bool {
    first.contains(['.', ':'])
        || first == "localhost"
        || first.bytes().any(|b| b.is_ascii_uppercase())
}

/// Parses a Docker reference (`alpine`, `alpine:3.20`, `quay.io/org/app@sha256:…`,
/// `127.0.0.1:5000/test:v1`) by distribution's reference grammar: `[HOST[:PORT]/]PATH[:TAG][@DIGEST]`,
/// the name (host and path, as printed) at most [`NAME_MAX`] characters.
pub fn parse_reference(text: &str) -> Result<Reference, ReferenceError> {
    if text.is_empty() {
        return Err(invalid(text, "an empty reference"));
    }
    // Longer than any name, tag and digest together: refused before any other work.
    if text.len() > NAME_MAX + 1 + TAG_MAX + 1 + 7 + 128 {
        return Err(invalid(text, "too long to be an image reference"));
    }
    let (rest, digest) = match text.split_once('@') {
        Some((rest, digest)) => {
            super::manifest::Digest::parse(digest).map_err(|e| invalid(text, e.to_string()))?;
            (rest, Some(digest.to_string()))
        }
        None => (text, None),
    };
    let (name, tag) = match rest.rsplit_once(':') {
        Some((name, tag)) if !tag.contains('/') => (name, Some(tag.to_string())),
        _ => (rest, None),
    };
    if let Some(tag) = &tag
        && !valid_tag(tag)
    {
        return Err(invalid(
            text,
            format!(
                "invalid tag {tag:?} (a tag is up to 128 letters, digits, _, . and -, not starting with . or -)"
            ),
        ));
    }
    let (registry, path) = match name.split_once('/') {
        Some((first, path)) if names_a_host(first) => {
            if !valid_host(first) {
                return Err(invalid(
                    text,
                    format!(
                        "invalid registry host {first:?} (a DNS name or IP address, with an optional :PORT)"
                    ),
                ));
            }
            (first.to_string(), path)
        }
        _ => ("docker.io".to_string(), name),
    };
    if !path.split('/').all(valid_component) {
        return Err(invalid(
            text,
            "a repository is lowercase letters and digits, joined by . _ __ or -, between slashes",
        ));
    }
    let repository = if registry == "docker.io" && !path.contains('/') {
        format!("library/{path}")
    } else {
        path.to_string()
    };
    if registry.len() + 1 + repository.len() > NAME_MAX {
        return Err(invalid(
            text,
            format!("the name {registry}/{repository} is longer than {NAME_MAX} characters"),
        ));
    }
    let tag = match (&tag, &digest) {
        (None, None) => Some("latest".to_string()),
        _ => tag,
    };
    Ok(Reference {
        registry,
        repository,
        tag,
        digest,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reference(text: &str) -> (String, String, Option<String>, Option<String>) {
        let r = parse_reference(text).unwrap();
        (r.registry, r.repository, r.tag, r.digest)
    }

    #[test]
    fn docker_hub_names_are_normalised() {
        assert_eq!(
            reference("alpine:3.20"),
            (
                "docker.io".into(),
                "library/alpine".into(),
                Some("3.20".into()),
                None
            )
        );
        assert_eq!(
            reference("bitnami/nginx"),
            (
                "docker.io".into(),
                "bitnami/nginx".into(),
                Some("latest".into()),
                None
            )
        );
    }

    #[test]
    fn hosts_ports_and_digests() {
        let d = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
        assert_eq!(
            reference(&format!("127.0.0.1:5000/a/b@{d}")),
            ("127.0.0.1:5000".into(), "a/b".into(), None, Some(d.into()))
        );
        assert_eq!(
            reference("localhost/test:v1"),
            ("localhost".into(), "test".into(), Some("v1".into()), None)
        );
        assert_eq!(
            parse_reference("quay.io/x/y:t").unwrap().to_string(),
            "quay.io/x/y:t"
        );
    }

    #[test]
    fn bad_references_are_refused() {
        for bad in [
            "",
            "Alpine",
            "a//b",
            "a:",
            "a@sha256:12",
            "a:-x",
            "host:5000/",
            // Separators: one `.`, one or two `_`, any number of `-`, never at an end.
            "a..b",
            "a___b",
            "a._b",
            "a-",
            "_a",
            // A first component that names a host must be one.
            "{\"manifests\":[x/y",
            "h_x.io/a",
            "-h.io/a",
            "h.io:/a",
            "h.io:123456/a",
            "[::1/a",
            "[zz::1]:5000/a",
        ] {
            assert!(parse_reference(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_grammar_takes_what_distribution_takes() {
        for good in [
            "a__b",
            "a---b",
            "a.b_c-d",
            "registry.example:5000/a/b.c/d__e:V1.0_rc-1",
            "[::1]:5000/a",
            "[fe80::1]/a:t",
            "LOCALHOST/a",
            "Registry.Example/a",
        ] {
            assert!(parse_reference(good).is_ok(), "{good}");
        }
    }

    #[test]
    fn the_length_limit_is_on_the_name_as_printed() {
        // 255 characters of name, as distribution's NameTotalLengthMax, and a tag on top.
        let longest = format!("h.x/{}", "a".repeat(NAME_MAX - 4));
        let r = parse_reference(&longest).unwrap();
        assert_eq!(r.to_string(), format!("{longest}:latest"));
        assert_eq!(parse_reference(&r.to_string()).unwrap(), r);
        let too_long = format!("h.x/{}", "a".repeat(NAME_MAX - 3));
        assert!(parse_reference(&too_long).is_err());
        // Normalised names count: `docker.io/library/` is part of the name.
        let hub = "a".repeat(NAME_MAX - "docker.io/library/".len() + 1);
        assert!(parse_reference(&hub).is_err());
        // The fuzzer's input: 508 characters after `h.x/` once parsed, then failed to parse back.
        assert!(parse_reference(&format!("h.x/{}", "a".repeat(508))).is_err());
    }

    #[test]
    fn transports_split_like_skopeo() {
        assert_eq!(ImageRef::parse_transport("-"), Some(Ok(ImageRef::Stdin)));
        assert_eq!(
            ImageRef::parse_transport("oci:/tmp/layout:v1"),
            Some(Ok(ImageRef::OciDir {
                path: "/tmp/layout".into(),
                tag: Some("v1".into())
            }))
        );
        assert_eq!(
            ImageRef::parse_transport("docker-archive:x.tar"),
            Some(Ok(ImageRef::DockerArchive {
                path: "x.tar".into(),
                name: None
            }))
        );
        assert!(matches!(
            ImageRef::parse_transport("docker://alpine"),
            Some(Ok(ImageRef::Registry(r))) if r.repository == "library/alpine"
        ));
        assert!(matches!(ImageRef::parse_transport("oci:"), Some(Err(_))));
        assert_eq!(ImageRef::parse_transport("alpine:3.20"), None);
        assert_eq!(ImageRef::parse_transport("/etc/ssl"), None);
    }
}
