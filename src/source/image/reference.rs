//! Image names as users write them: skopeo's transport syntax and Docker references. Pure.
//!
//! - `docker-archive:PATH[:NAME]`, `oci:DIR[:TAG]`, `oci-archive:PATH[:TAG]`: as in skopeo, the
//!   path ends at the first `:` after the transport.
//! - `docker://[HOST/]REPO[:TAG][@DIGEST]`, and a bare reference (`alpine:3.20`) — the caller
//!   decides that a bare argument is a reference only when it is not an existing path.
//! - `-`: a `docker save` stream on standard input.
//!
//! Docker references follow the distribution `reference` grammar's rules for the parts that
//! matter here: the first component is a registry host when it contains `.` or `:` or is
//! `localhost`; otherwise the image is on Docker Hub (`docker.io`), where a one-component name
//! lives under `library/`. Without tag and digest the tag is `latest`.

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

fn is_host(component: &str) -> bool {
    component.contains('.') || component.contains(':') || component == "localhost"
}

fn valid_component(c: &str) -> bool {
    // The grammar's path component: lowercase alphanumerics separated by `.`, `_`, `__` or `-`s.
    !c.is_empty()
        && c.bytes()
            .all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'.' | b'_' | b'-'))
        && c.as_bytes()[0].is_ascii_alphanumeric()
        && c.as_bytes()[c.len() - 1].is_ascii_alphanumeric()
}

/// Parses a Docker reference (`alpine`, `alpine:3.20`, `quay.io/org/app@sha256:…`,
/// `127.0.0.1:5000/test:v1`).
pub fn parse_reference(text: &str) -> Result<Reference, ReferenceError> {
    if text.is_empty() || text.len() > 512 {
        return Err(invalid(text, "a reference is 1 to 512 characters"));
    }
    let (rest, digest) = match text.split_once('@') {
        Some((rest, digest)) => {
            super::manifest::Digest::parse(digest).map_err(|e| invalid(text, e.to_string()))?;
            (rest, Some(digest.to_string()))
        }
        None => (text, None),
    };
    let (registry, path) = match rest.split_once('/') {
        Some((first, path)) if is_host(first) => (first.to_string(), path),
        _ => ("docker.io".to_string(), rest),
    };
    let (path, tag) = match path.rsplit_once(':') {
        Some((path, tag)) if !tag.contains('/') => (path, Some(tag.to_string())),
        _ => (path, None),
    };
    if let Some(tag) = &tag {
        let ok = !tag.is_empty()
            && tag.len() <= 128
            && tag
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
            && !tag.starts_with(['.', '-']);
        if !ok {
            return Err(invalid(text, format!("invalid tag {tag:?}")));
        }
    }
    if !path.split('/').all(valid_component) {
        return Err(invalid(
            text,
            "a repository is lowercase letters, digits and separators (. _ -) between slashes",
        ));
    }
    let repository = if registry == "docker.io" && !path.contains('/') {
        format!("library/{path}")
    } else {
        path.to_string()
    };
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
        ] {
            assert!(parse_reference(bad).is_err(), "{bad}");
        }
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
