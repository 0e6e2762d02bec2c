//! Judging what a scan found: the inspect checks ([`checks`]), the embedded history of Mozilla's
//! root store ([`mozilla`]) and Paranoia-compatible policies ([`policy`], with positions in them as
//! editors count lines: [`text_position`]).
//!
//! Everything here is a pure function of certificates, the clock it is given and the Mozilla data;
//! nothing reads the filesystem or the network (the CLI reads `--mozilla-data` and policy files and
//! hands their bytes in).

pub mod checks;
pub mod mozilla;
pub mod policy;
pub mod text_position;

use std::sync::Arc;

use serde::Serialize;

use crate::cert::Certificate;
use crate::record::Finding;

/// How serious an issue is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// Worth a look; fails only `--fail-on warning`.
    Warning,
    /// Wrong; fails `--fail-on error` and `--fail-on warning`.
    Error,
}

impl Level {
    /// `warning` or `error`.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Warning => "warning",
            Level::Error => "error",
        }
    }
}

/// What is wrong with a certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum IssueKind {
    /// `notAfter` is in the past.
    Expired,
    /// `notBefore` is in the future.
    NotYetValid,
    /// `notAfter` falls inside the expiry window.
    ExpiringSoon,
    /// Mozilla's root store carried this root once and no longer does.
    RemovedFromMozilla,
    /// RSA under 2048 bits, DSA, EC under 256 bits.
    WeakKey,
    /// Signed with MD2/MD5, or SHA-1 on a certificate that is not a self-signed root.
    WeakSignature,
    /// Found in a CA bundle or trust store, but basicConstraints does not make it a CA.
    NotACa,
    /// A self-signed CA that Mozilla's root store never carried (a private or unknown root).
    UnknownRoot,
}

impl IssueKind {
    /// Every kind, in the order reports list rules.
    pub const ALL: [IssueKind; 8] = [
        IssueKind::Expired,
        IssueKind::NotYetValid,
        IssueKind::ExpiringSoon,
        IssueKind::RemovedFromMozilla,
        IssueKind::WeakKey,
        IssueKind::WeakSignature,
        IssueKind::NotACa,
        IssueKind::UnknownRoot,
    ];

    /// The name used in JSON, SARIF rule ids and `--fail-on`: `expired`, `removed_from_mozilla`, …
    pub fn as_str(self) -> &'static str {
        match self {
            IssueKind::Expired => "expired",
            IssueKind::NotYetValid => "not_yet_valid",
            IssueKind::ExpiringSoon => "expiring_soon",
            IssueKind::RemovedFromMozilla => "removed_from_mozilla",
            IssueKind::WeakKey => "weak_key",
            IssueKind::WeakSignature => "weak_signature",
            IssueKind::NotACa => "not_a_ca",
            IssueKind::UnknownRoot => "unknown_root",
        }
    }

    /// The level the check usually gives (a DSA key or a SHA-1 signature is only a warning).
    pub fn default_level(self) -> Level {
        match self {
            IssueKind::Expired
            | IssueKind::NotYetValid
            | IssueKind::RemovedFromMozilla
            | IssueKind::WeakKey
            | IssueKind::WeakSignature => Level::Error,
            IssueKind::ExpiringSoon | IssueKind::NotACa | IssueKind::UnknownRoot => Level::Warning,
        }
    }

    /// One sentence saying what the check looks for (SARIF rule descriptions, README).
    pub fn description(self) -> &'static str {
        match self {
            IssueKind::Expired => "The certificate's validity period has ended.",
            IssueKind::NotYetValid => "The certificate's validity period has not begun.",
            IssueKind::ExpiringSoon => "The certificate expires within the expiry window.",
            IssueKind::RemovedFromMozilla => {
                "The root was once in Mozilla's root store and has been removed from it."
            }
            IssueKind::WeakKey => {
                "The public key is too weak: RSA under 2048 bits, DSA, or EC under 256 bits."
            }
            IssueKind::WeakSignature => {
                "The certificate is signed with MD2 or MD5, or with SHA-1 and is not a self-signed root."
            }
            IssueKind::NotACa => {
                "The certificate sits in a CA bundle or trust store but is not a CA certificate."
            }
            IssueKind::UnknownRoot => {
                "A self-signed CA certificate that Mozilla's root store has never included."
            }
        }
    }
}

/// One problem with one certificate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Issue {
    /// How serious.
    pub level: Level,
    /// What kind of problem.
    pub kind: IssueKind,
    /// What exactly, in a sentence with the dates or sizes involved.
    pub message: String,
}

/// A distinct certificate, every place it was found, and what is wrong with it.
#[derive(Debug, Clone)]
pub struct Judged {
    /// The certificate.
    pub cert: Arc<Certificate>,
    /// Every occurrence, in scan order.
    pub findings: Vec<Finding>,
    /// Its issues, most serious first.
    pub issues: Vec<Issue>,
}

impl Judged {
    /// The most serious level among the issues, if there are any.
    pub fn worst(&self) -> Option<Level> {
        self.issues.iter().map(|i| i.level).max()
    }
}
