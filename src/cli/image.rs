//! The image arguments every command that opens images takes: platform, registry access, cache.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use rootsift::source::image::ImageOptions;
use rootsift::source::image::cache::DEFAULT_MAX_BYTES;
use rootsift::source::image::manifest::Platform;
use rootsift::source::image::registry::{Credentials, RegistryOptions};

use super::scan::parse_size;

/// How images are found and read.
#[derive(Debug, Args)]
pub struct ImageArgs {
    /// The platform to take from a multi-platform image [default: this machine's, e.g. linux/amd64].
    #[arg(long, value_name = "OS/ARCH[/VARIANT]", value_parser = parse_platform)]
    platform: Option<Platform>,

    /// Registry credentials. Without them, the first file with an entry for the registry is used:
    /// $REGISTRY_AUTH_FILE, $XDG_RUNTIME_DIR/containers/auth.json, $DOCKER_CONFIG/config.json or
    /// ~/.docker/config.json (`auths`, `credHelpers`, `credsStore`); else anonymous.
    #[arg(long, value_name = "USER:PASS", value_parser = parse_creds)]
    creds: Option<(String, String)>,

    /// Talk plain HTTP to the registry (loopback and test registries).
    #[arg(long)]
    insecure: bool,

    /// Seconds a registry may stay silent (connecting, or mid-blob) before the fetch fails.
    #[arg(long, value_name = "SECONDS", default_value_t = 30)]
    registry_timeout: u64,

    /// Where fetched and decompressed layers are kept [default: $XDG_CACHE_HOME/rootsift, else
    /// ~/.cache/rootsift].
    #[arg(long, value_name = "DIR")]
    cache_dir: Option<PathBuf>,

    /// Bound on the cached layers; least recently used ones go first (suffixes K, M, G).
    #[arg(long, value_name = "SIZE", value_parser = parse_size, default_value = "20G")]
    cache_max_size: u64,

    /// Never contact a registry (offline CI): `docker://` targets are refused, and a name that is
    /// not a file is not tried as an image. Also set by ROOTSIFT_NO_REGISTRY=1.
    #[arg(long, env = "ROOTSIFT_NO_REGISTRY", value_parser = clap::builder::FalseyValueParser::new(), hide_env_values = true)]
    no_registry: bool,
}

fn parse_platform(s: &str) -> Result<Platform, String> {
    Platform::parse(s).ok_or_else(|| format!("`{s}` is not OS/ARCH[/VARIANT] (e.g. linux/arm64)"))
}

fn parse_creds(s: &str) -> Result<(String, String), String> {
    match s.split_once(':') {
        Some((user, pass)) if !user.is_empty() => Ok((user.to_string(), pass.to_string())),
        _ => Err("credentials are USER:PASS".to_string()),
    }
}

impl ImageArgs {
    /// The options for opening image targets.
    pub fn options(&self) -> ImageOptions {
        ImageOptions {
            platform: self.platform.clone(),
            registry: RegistryOptions {
                insecure: self.insecure,
                creds: self.creds.as_ref().map(|(username, password)| Credentials {
                    username: username.clone(),
                    password: password.clone(),
                }),
                timeout: Duration::from_secs(self.registry_timeout.max(1)),
            },
            cache_dir: self.cache_dir.clone(),
            cache_max_bytes: if self.cache_max_size == 0 {
                DEFAULT_MAX_BYTES
            } else {
                self.cache_max_size
            },
            no_registry: self.no_registry,
            ..ImageOptions::default()
        }
    }
}
