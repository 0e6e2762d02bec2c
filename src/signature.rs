//! The signature model: one code-signing signature, its signer and its timestamp, as every
//! signing format reports it ([`crate::sign`] parses them) and every report prints it.

use std::sync::Arc;

use crate::cert::Certificate;

/// Which signing scheme a signature belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SignatureFormat {
    /// Authenticode in a PE/COFF or EFI image (WIN_CERTIFICATE, PKCS#7 SignedData).
    Authenticode,
    /// A JAR (or WAR, EAR, APK v1) signer: `META-INF/NAME.SF` with its `.RSA`/`.DSA`/`.EC` block.
    Jar,
    /// A Linux kernel module's appended PKCS#7 signature (`~Module signature appended~`).
    KernelModule,
}

impl SignatureFormat {
    /// `authenticode`, `jar` or `kernel-module`.
    pub fn as_str(self) -> &'static str {
        match self {
            SignatureFormat::Authenticode => "authenticode",
            SignatureFormat::Jar => "jar",
            SignatureFormat::KernelModule => "kernel-module",
        }
    }
}

/// Who signed: the signer's identity as the SignerInfo names it, and its certificate when the
/// signature carries it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Signer {
    /// The signer certificate's subject (formatted like [`Certificate::subject`]), when the
    /// certificate is in the signature.
    pub subject: Option<String>,
    /// The issuer named by the SignerInfo (issuerAndSerialNumber), formatted like
    /// [`Certificate::issuer`]; empty when the signer is named by subjectKeyIdentifier only.
    pub issuer: String,
    /// The serial number named by the SignerInfo, lowercase hex like [`Certificate::serial`].
    pub serial: String,
    /// The signer's certificate, when the signature carries it.
    pub certificate: Option<Arc<Certificate>>,
}

/// How a timestamp was attached to a signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TimestampKind {
    /// A PKCS#9 counterSignature (1.2.840.113549.1.9.6), Authenticode's legacy timestamp.
    Pkcs9CounterSignature,
    /// An RFC 3161 timestamp token (Microsoft's 1.3.6.1.4.1.311.3.3.1, or the
    /// id-aa-timeStampToken attribute 1.2.840.113549.1.9.16.2.14 that jarsigner writes).
    Rfc3161,
}

impl TimestampKind {
    /// `pkcs9-countersignature` or `rfc3161`.
    pub fn as_str(self) -> &'static str {
        match self {
            TimestampKind::Pkcs9CounterSignature => "pkcs9-countersignature",
            TimestampKind::Rfc3161 => "rfc3161",
        }
    }
}

/// A countersignature or timestamp on a signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timestamp {
    /// Which of the timestamp forms.
    pub kind: TimestampKind,
    /// Who countersigned (the TSA).
    pub signer: Signer,
    /// The time it vouches for (signingTime of a counterSignature, genTime of a TSTInfo), seconds
    /// since the Unix epoch.
    pub time: Option<i64>,
}

/// One signature on a file (a nested Authenticode signature or a second JAR signer is its own).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature {
    /// Which scheme.
    pub format: SignatureFormat,
    /// Its position among the file's signatures, from 0: WIN_CERTIFICATE order with nested
    /// signatures right after their parent; JAR signers in name order.
    pub index: u32,
    /// Whether this is an Authenticode signature nested in another (1.3.6.1.4.1.311.2.4.1).
    pub nested: bool,
    /// For JARs, the signer's name (`CERT` for `META-INF/CERT.SF`).
    pub name: Option<String>,
    /// The signer.
    pub signer: Signer,
    /// The digest algorithm of the signed content (`sha256`, `sha1`, …).
    pub digest_algorithm: String,
    /// SpcSpOpusInfo's program name (Authenticode).
    pub program_name: Option<String>,
    /// SpcSpOpusInfo's URL (Authenticode).
    pub program_url: Option<String>,
    /// The signingTime signed attribute, seconds since the Unix epoch.
    pub signing_time: Option<i64>,
    /// The first countersignature or timestamp, if any.
    pub timestamp: Option<Timestamp>,
    /// Every certificate the signature carries, in the order it carries them.
    pub certificates: Vec<Arc<Certificate>>,
    /// `Some(true)`: the content digest matches what was signed and the signer's signature over it
    /// is valid; `Some(false)`: it is not (see `verify_error`); `None`: not checked (`--no-verify`)
    /// or not checkable (no signer certificate in the signature).
    pub verified: Option<bool>,
    /// Why the signature did not verify, or why it could not be checked.
    pub verify_error: Option<String>,
}

impl Signature {
    /// A signature of which only its place is known yet: no signer, not verified, no error.
    pub fn blank(format: SignatureFormat, index: u32, nested: bool) -> Signature {
        Signature {
            format,
            index,
            nested,
            name: None,
            signer: Signer::default(),
            digest_algorithm: String::new(),
            program_name: None,
            program_url: None,
            signing_time: None,
            timestamp: None,
            certificates: Vec::new(),
            verified: None,
            verify_error: None,
        }
    }

    /// The signature, marked as failed for `reason`.
    pub fn fail(mut self, reason: impl Into<String>) -> Signature {
        self.verified = Some(false);
        self.verify_error = Some(reason.into());
        self
    }
}
