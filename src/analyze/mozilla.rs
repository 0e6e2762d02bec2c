//! PLACEHOLDER: being written (embedded Mozilla root-store history; CCADB removed-CA CSV).

/// What Mozilla's root store says of one certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MozillaStatus<'a> {
    /// In the newest release the data knows.
    Included {
        /// The subject as the data records it.
        subject: &'a str,
    },
    /// Carried once, not any more.
    Removed {
        /// The subject as the data records it.
        subject: &'a str,
        /// When it was removed (`YYYY-MM-DD`), or what the CCADB CSV says instead of a date.
        removed: &'a str,
        /// The first release (certifi version) without it, when known.
        release: Option<&'a str>,
        /// Mozilla's comment (CCADB CSV), when known.
        comment: Option<&'a str>,
    },
    /// Never carried.
    Unknown,
}

/// The history of Mozilla's root store.
#[derive(Debug, Clone, Default)]
pub struct MozillaData {}

impl MozillaData {
    /// The data compiled into the binary.
    pub fn embedded() -> &'static MozillaData {
        static EMPTY: MozillaData = MozillaData {};
        &EMPTY
    }

    /// What the data says of the certificate with this SHA-256 fingerprint.
    pub fn status(&self, _sha256: &[u8; 32]) -> MozillaStatus<'_> {
        MozillaStatus::Unknown
    }

    /// The SHA-256 fingerprints of every root the newest release includes.
    pub fn included(&self) -> impl Iterator<Item = &[u8; 32]> + '_ {
        std::iter::empty()
    }

    /// The date of the newest release the data knows (`YYYY-MM-DD`).
    pub fn date(&self) -> &str {
        ""
    }
}
