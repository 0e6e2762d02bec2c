//! Policies: which certificates may be found, which must not be, and which must be.
//!
//! `rootsift validate -c POLICY TARGET` reads a policy in Jetstack Paranoia's `.paranoia.yaml`
//! format, unchanged, and checks every certificate found against it. A policy has three lists of
//! entries:
//!
//! - **`allow`**: in strict mode (the default) every certificate found must match an `allow` or a
//!   `require` entry. Permissive mode does not check this list.
//! - **`forbid`**: a certificate that matches a `forbid` entry fails the policy, in either mode.
//! - **`require`**: each `require` entry must match at least one certificate found, in either mode.
//!
//! Paranoia's entries name one certificate by its fingerprint, `sha1` or `sha256`, in hex of
//! either case (`AB:CD:…` with colons is accepted too). rootsift adds conditions that name many
//! certificates at once, so that a policy need not list 150 roots one by one. An entry may carry
//! any of them, besides or instead of `fingerprints`, and matches a certificate when **all** the
//! conditions it carries hold:
//!
//! | Key | Holds when |
//! | --- | --- |
//! | `fingerprints: {sha1: HEX}` | the SHA-1 of the certificate's DER is `HEX` |
//! | `fingerprints: {sha256: HEX}` | the SHA-256 of the certificate's DER is `HEX` (with `sha1` too, both must match) |
//! | `subject: REGEX` | the regular expression (Rust `regex` syntax, unanchored) matches the subject as rootsift prints it, `CN=ISRG Root X1,O=Internet Security Research Group,C=US` |
//! | `issuer: REGEX` | the same, for the issuer |
//! | `mozilla: included` | Mozilla's root store includes the certificate today |
//! | `mozilla: removed` | Mozilla's root store carried it once and has removed it |
//! | `mozilla: unknown` | Mozilla's root store never carried it |
//! | `expired: true` / `false` | its `notAfter` is (is not) before the time of the check |
//! | `ca: true` / `false` | its basicConstraints say (do not say) it is a CA |
//!
//! `comment` is free text, repeated in messages. Write regular expressions in single quotes: in
//! YAML's double quotes a backslash starts an escape (`"\b"` is a backspace).
//!
//! A full example:
//!
//! ```yaml
//! version: "1"
//! allow:
//!   # Everything Mozilla's root store includes today.
//!   - mozilla: included
//!   # One root by fingerprint, as Paranoia writes it.
//!   - fingerprints:
//!       sha256: 4348A0E9444C78CB265E058D5E8944B4D84F9662BD26DB257F8934A443C70161
//!     comment: "DigiCert Global Root"
//!   # Whatever our internal CA issued, as long as it has not expired.
//!   - issuer: '^CN=Acme Internal CA,O=Acme\b'
//!     expired: false
//!     comment: "internal certificates"
//! forbid:
//!   - mozilla: removed
//!     comment: "roots Mozilla no longer trusts"
//!   - fingerprints:
//!       sha1: D4:DE:20:D0:5E:66:FC:53:FE:1A:50:88:2C:78:DB:28:52:CA:E4:74
//!     comment: "Baltimore CyberTrust Root"
//!   - subject: '(?i)\b(test|example)\b'
//!     ca: true
//! require:
//!   - subject: '^CN=ISRG Root X1,'
//!     mozilla: included
//!     comment: "Let's Encrypt"
//! ```
//!
//! `allow: [{mozilla: included}]` alone is the shorthand for "anything Mozilla includes today".
//!
//! Unlike Paranoia, rootsift rejects a policy it cannot read exactly: a missing `version`, a
//! version other than `"1"`, a key it does not know (anywhere, so a typo cannot silently turn an
//! entry off), a key given twice, a fingerprint that is not hex of the right length, a regular
//! expression that does not compile, an entry with no condition (it would match everything), more
//! than one YAML document, or text that is not YAML. Each gives one [`PolicyError`] with the line
//! and column of the offending key, value or entry (lines counted as editors count them: see
//! [`super::text_position`]); none panics. A policy that is read but not met
//! is no error: [`Policy::evaluate`] returns a [`Verdict`].

use std::cell::{Cell, OnceCell};
use std::collections::HashMap;
use std::fmt;

use regex::Regex;
use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::mozilla::{MozillaData, MozillaStatus};
use super::text_position::{Lines, editor_lines};
use crate::cert::Certificate;
use crate::scan::Finding;

/// The only `version` this format has (Paranoia's).
pub const VERSION: &str = "1";

/// Why a policy could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PolicyErrorKind {
    /// Not YAML, or YAML of another shape than a policy (a list where a mapping belongs, several
    /// documents).
    Yaml,
    /// `version` is missing or is not `"1"`.
    Version,
    /// A key the format does not have, or a key given twice.
    Key,
    /// A fingerprint that is not hex, or not the length of its algorithm.
    Fingerprint,
    /// A `subject` or `issuer` that is not a valid regular expression.
    Regex,
    /// A value the key does not take (`mozilla: maybe`, `ca: yes`).
    Value,
    /// An entry, or its `fingerprints`, with no condition at all.
    NoCondition,
}

/// A policy that could not be read: what is wrong and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}, column {column}: {message}")]
pub struct PolicyError {
    /// What kind of problem.
    pub kind: PolicyErrorKind,
    /// The line of the offending key or value (1-based; lines end at LF, CR LF or CR, as in an
    /// editor, not at U+0085, U+2028 or U+2029).
    pub line: usize,
    /// Its column (1-based, in characters).
    pub column: usize,
    /// What is wrong, in a sentence; starts with the YAML path when there is one
    /// (`forbid[0].fingerprints.sha256: …`, list indices 0-based).
    pub message: String,
}

/// Which list of the policy an entry belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum List {
    /// `allow`.
    Allow,
    /// `forbid`.
    Forbid,
    /// `require`.
    Require,
}

impl List {
    /// The key of the list: `allow`, `forbid` or `require`.
    pub fn as_str(self) -> &'static str {
        match self {
            List::Allow => "allow",
            List::Forbid => "forbid",
            List::Require => "require",
        }
    }
}

/// What Mozilla's root store says of a certificate, as a `mozilla:` condition names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MozillaState {
    /// `included`: in the newest release.
    Included,
    /// `removed`: carried once, not any more.
    Removed,
    /// `unknown`: never carried.
    Unknown,
}

impl MozillaState {
    /// The state a [`MozillaStatus`] describes.
    pub fn of(status: &MozillaStatus<'_>) -> MozillaState {
        match status {
            MozillaStatus::Included { .. } => MozillaState::Included,
            MozillaStatus::Removed { .. } => MozillaState::Removed,
            MozillaStatus::Unknown => MozillaState::Unknown,
        }
    }

    /// The value as written in a policy: `included`, `removed` or `unknown`.
    pub fn as_str(self) -> &'static str {
        match self {
            MozillaState::Included => "included",
            MozillaState::Removed => "removed",
            MozillaState::Unknown => "unknown",
        }
    }
}

/// One entry of a list: the conditions a certificate must all meet to match it.
#[derive(Debug, Clone)]
pub struct Entry {
    list: List,
    line: usize,
    comment: Option<String>,
    sha1: Option<[u8; 20]>,
    sha256: Option<[u8; 32]>,
    subject: Option<Regex>,
    issuer: Option<Regex>,
    mozilla: Option<MozillaState>,
    expired: Option<bool>,
    ca: Option<bool>,
}

impl Entry {
    fn new(list: List) -> Entry {
        Entry {
            list,
            line: 1,
            comment: None,
            sha1: None,
            sha256: None,
            subject: None,
            issuer: None,
            mozilla: None,
            expired: None,
            ca: None,
        }
    }

    /// The list the entry is in.
    pub fn list(&self) -> List {
        self.list
    }

    /// The line of the policy file the entry starts on (1-based).
    pub fn line(&self) -> usize {
        self.line
    }

    /// Its `comment`, if it has one.
    pub fn comment(&self) -> Option<&str> {
        self.comment.as_deref()
    }

    /// Its `fingerprints.sha1`.
    pub fn sha1(&self) -> Option<&[u8; 20]> {
        self.sha1.as_ref()
    }

    /// Its `fingerprints.sha256`.
    pub fn sha256(&self) -> Option<&[u8; 32]> {
        self.sha256.as_ref()
    }

    /// Its `subject` regular expression, as written.
    pub fn subject(&self) -> Option<&str> {
        self.subject.as_ref().map(Regex::as_str)
    }

    /// Its `issuer` regular expression, as written.
    pub fn issuer(&self) -> Option<&str> {
        self.issuer.as_ref().map(Regex::as_str)
    }

    /// Its `mozilla` condition.
    pub fn mozilla(&self) -> Option<MozillaState> {
        self.mozilla
    }

    /// Its `expired` condition.
    pub fn expired(&self) -> Option<bool> {
        self.expired
    }

    /// Its `ca` condition.
    pub fn ca(&self) -> Option<bool> {
        self.ca
    }

    /// Its conditions in a few words, for messages: `sha256 4348A0E9…0161` (the whole fingerprint),
    /// `subject ~ /Acme/, expired: false`, `mozilla: removed`.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(fp) = &self.sha256 {
            parts.push(format!("sha256 {}", hex::encode_upper(fp)));
        }
        if let Some(fp) = &self.sha1 {
            parts.push(format!("sha1 {}", hex::encode_upper(fp)));
        }
        if let Some(re) = &self.subject {
            parts.push(format!("subject ~ /{}/", re.as_str()));
        }
        if let Some(re) = &self.issuer {
            parts.push(format!("issuer ~ /{}/", re.as_str()));
        }
        if let Some(state) = self.mozilla {
            parts.push(format!("mozilla: {}", state.as_str()));
        }
        if let Some(expired) = self.expired {
            parts.push(format!("expired: {expired}"));
        }
        if let Some(ca) = self.ca {
            parts.push(format!("ca: {ca}"));
        }
        parts.join(", ")
    }

    /// Whether `cert` meets every condition of the entry, `now` being the time of the check in
    /// seconds since the Unix epoch.
    pub fn matches(&self, cert: &Certificate, mozilla: &MozillaData, now: i64) -> bool {
        self.holds(&Facts::new(cert, mozilla, now))
    }

    fn has_condition(&self) -> bool {
        self.sha1.is_some()
            || self.sha256.is_some()
            || self.subject.is_some()
            || self.issuer.is_some()
            || self.mozilla.is_some()
            || self.expired.is_some()
            || self.ca.is_some()
    }

    fn holds(&self, facts: &Facts<'_>) -> bool {
        let cert = facts.cert;
        self.sha256.is_none_or(|fp| fp == cert.sha256)
            && self.sha1.is_none_or(|fp| fp == cert.sha1)
            && self.ca.is_none_or(|ca| ca == cert.is_ca)
            && self
                .expired
                .is_none_or(|expired| expired == (cert.not_after < facts.now))
            && self
                .mozilla
                .is_none_or(|state| state == facts.mozilla_state())
            && self
                .subject
                .as_ref()
                .is_none_or(|re| re.is_match(&cert.subject))
            && self
                .issuer
                .as_ref()
                .is_none_or(|re| re.is_match(&cert.issuer))
    }
}

/// What the conditions look at for one certificate; the Mozilla lookup is made at most once.
struct Facts<'a> {
    cert: &'a Certificate,
    mozilla: &'a MozillaData,
    now: i64,
    state: OnceCell<MozillaState>,
}

impl<'a> Facts<'a> {
    fn new(cert: &'a Certificate, mozilla: &'a MozillaData, now: i64) -> Facts<'a> {
        Facts {
            cert,
            mozilla,
            now,
            state: OnceCell::new(),
        }
    }

    fn mozilla_state(&self) -> MozillaState {
        *self
            .state
            .get_or_init(|| MozillaState::of(&self.mozilla.status(&self.cert.sha256)))
    }
}

/// The entries of one list, indexed: entries with a fingerprint are found by hash lookup, only the
/// others are tried one by one.
#[derive(Debug, Clone, Default)]
struct Index {
    by_sha256: HashMap<[u8; 32], Vec<usize>>,
    by_sha1: HashMap<[u8; 20], Vec<usize>>,
    others: Vec<usize>,
}

impl Index {
    fn new(entries: &[Entry]) -> Index {
        let mut index = Index::default();
        for (i, entry) in entries.iter().enumerate() {
            if let Some(fp) = entry.sha256 {
                index.by_sha256.entry(fp).or_default().push(i);
            } else if let Some(fp) = entry.sha1 {
                index.by_sha1.entry(fp).or_default().push(i);
            } else {
                index.others.push(i);
            }
        }
        index
    }

    /// Indices of the entries that may match the certificate, each list in ascending order.
    fn candidates<'i>(&'i self, cert: &Certificate) -> [&'i [usize]; 3] {
        [
            self.by_sha256
                .get(&cert.sha256)
                .map_or(&[][..], Vec::as_slice),
            self.by_sha1.get(&cert.sha1).map_or(&[][..], Vec::as_slice),
            &self.others,
        ]
    }

    /// The first entry, in file order, the certificate matches.
    fn first_match(&self, entries: &[Entry], facts: &Facts<'_>) -> Option<usize> {
        self.candidates(facts.cert)
            .into_iter()
            .filter_map(|list| list.iter().copied().find(|&i| entries[i].holds(facts)))
            .min()
    }
}

/// A policy read from a `.paranoia.yaml` file.
#[derive(Debug, Clone)]
pub struct Policy {
    allow: Vec<Entry>,
    forbid: Vec<Entry>,
    require: Vec<Entry>,
    allow_index: Index,
    forbid_index: Index,
    require_index: Index,
}

/// The outcome of checking the certificates found against a policy.
#[derive(Debug, Clone, Default)]
pub struct Verdict<'a> {
    /// Findings no `allow` or `require` entry matches (strict mode only), in input order.
    pub not_allowed: Vec<&'a Finding>,
    /// Findings a `forbid` entry matches, with the first such entry, in input order.
    pub forbidden: Vec<(&'a Finding, &'a Entry)>,
    /// `require` entries no finding matches, in file order.
    pub required_absent: Vec<&'a Entry>,
}

impl Verdict<'_> {
    /// Whether the policy is met: nothing not allowed, nothing forbidden, nothing required absent.
    pub fn passed(&self) -> bool {
        self.not_allowed.is_empty() && self.forbidden.is_empty() && self.required_absent.is_empty()
    }
}

impl Policy {
    /// Reads a policy from the text of a `.paranoia.yaml` file.
    pub fn from_yaml(text: &str) -> Result<Policy, PolicyError> {
        // yaml_serde's libyaml counts a byte-order mark as a column of the first line, so the
        // second line looks less indented than the first (serde-yaml #224); editors that write one
        // (Notepad) show it nowhere, so it is dropped and columns are counted after it.
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let ctx = Ctx::default();
        let lists = TopSeed(&ctx)
            .deserialize(yaml_serde::Deserializer::from_str(text))
            .map_err(|error| {
                // The entries before a syntax error are read before the error is met, and may be
                // wrong only because the rest is cut off: a syntax error anywhere comes first.
                match IgnoredAny::deserialize(yaml_serde::Deserializer::from_str(text)) {
                    Err(syntax) => Ctx::default().policy_error(&syntax, text),
                    Ok(_) => ctx.policy_error(&error, text),
                }
            })?;
        let [mut allow, mut forbid, mut require] = lists;
        // Entries were placed by libyaml's lines; give them the lines an editor shows.
        let lines = Lines::new(text);
        for entry in allow.iter_mut().chain(&mut forbid).chain(&mut require) {
            entry.line = lines.line(entry.line);
        }
        Ok(Policy {
            allow_index: Index::new(&allow),
            forbid_index: Index::new(&forbid),
            require_index: Index::new(&require),
            allow,
            forbid,
            require,
        })
    }

    /// The `allow` entries, in file order.
    pub fn allow(&self) -> &[Entry] {
        &self.allow
    }

    /// The `forbid` entries, in file order.
    pub fn forbid(&self) -> &[Entry] {
        &self.forbid
    }

    /// The `require` entries, in file order.
    pub fn require(&self) -> &[Entry] {
        &self.require
    }

    /// One line saying what will be checked: `3 allowed, 1 forbidden and 1 required entries,
    /// strict mode`.
    pub fn describe(&self, permissive: bool) -> String {
        format!(
            "{} allowed, {} forbidden and {} required entries, {}",
            self.allow.len(),
            self.forbid.len(),
            self.require.len(),
            if permissive {
                "permissive mode (the allow list is not checked)"
            } else {
                "strict mode"
            }
        )
    }

    /// Checks `findings` against the policy, `now` being the time of the check in seconds since
    /// the Unix epoch (for `expired`). Each distinct certificate is judged once, however many
    /// times it was found; entries with a fingerprint are looked up by hash.
    pub fn evaluate<'a>(
        &'a self,
        findings: &'a [Finding],
        mozilla: &MozillaData,
        now: i64,
        permissive: bool,
    ) -> Verdict<'a> {
        let mut verdict = Verdict::default();
        let mut required_found = vec![false; self.require.len()];
        // Per distinct certificate: (allowed, first forbid entry matched).
        let mut judged: HashMap<[u8; 32], (bool, Option<usize>)> = HashMap::new();
        for finding in findings {
            let cert = &*finding.cert;
            let (allowed, forbidden) = *judged.entry(cert.sha256).or_insert_with(|| {
                let facts = Facts::new(cert, mozilla, now);
                for list in self.require_index.candidates(cert) {
                    for &i in list {
                        if !required_found[i] && self.require[i].holds(&facts) {
                            required_found[i] = true;
                        }
                    }
                }
                let allowed = permissive
                    || self.allow_index.first_match(&self.allow, &facts).is_some()
                    || self
                        .require_index
                        .first_match(&self.require, &facts)
                        .is_some();
                (allowed, self.forbid_index.first_match(&self.forbid, &facts))
            });
            if !allowed {
                verdict.not_allowed.push(finding);
            }
            if let Some(i) = forbidden {
                verdict.forbidden.push((finding, &self.forbid[i]));
            }
        }
        verdict.required_absent = self
            .require
            .iter()
            .zip(&required_found)
            .filter(|(_, found)| !**found)
            .map(|(entry, _)| entry)
            .collect();
        verdict
    }
}

// ---------------------------------------------------------------------------------------------
// Reading. yaml_serde gives an error the position of the YAML node being deserialized when the
// error was made (the innermost one: a key, a scalar value, or a mapping whose visitor returned
// it), so every check below is made where that position is the right one: unknown and repeated
// keys while the key is read, bad values while the scalar is read, "no condition" when the entry's
// mapping ends. A successfully read node carries no position, so the line of an entry is learnt by
// a probe: its first key is read by a visitor that records the key and fails on purpose, and the
// line is taken from that error (see `KeySeed` and `probe_line`).
// ---------------------------------------------------------------------------------------------

const TOP_KEYS: &[&str] = &["version", "allow", "forbid", "require"];
const ENTRY_KEYS: &[&str] = &[
    "fingerprints",
    "comment",
    "subject",
    "issuer",
    "mozilla",
    "expired",
    "ca",
];
const CONDITION_KEYS: &[&str] = &[
    "fingerprints",
    "subject",
    "issuer",
    "mozilla",
    "expired",
    "ca",
];
const FINGERPRINT_KEYS: &[&str] = &["sha1", "sha256"];

/// The message of a probe error; never shown.
const PROBE: &str = "\u{0}rootsift policy probe\u{0}";

/// What the readers tell [`Policy::from_yaml`] besides the serde error.
#[derive(Default)]
struct Ctx {
    /// The kind of the error a reader made (yaml_serde's own errors leave it unset).
    kind: Cell<Option<PolicyErrorKind>>,
    /// The key a probe read (set just before the probe error is returned).
    probed: Cell<Option<usize>>,
}

impl Ctx {
    fn fail<E: de::Error>(&self, kind: PolicyErrorKind, message: impl fmt::Display) -> E {
        self.kind.set(Some(kind));
        E::custom(message)
    }

    fn policy_error(&self, error: &yaml_serde::Error, text: &str) -> PolicyError {
        let kind = self.kind.take().unwrap_or(PolicyErrorKind::Yaml);
        let mut message = error.to_string();
        let (line, column) = match error.location() {
            Some(location) => {
                let at = format!(" at line {} column {}", location.line(), location.column());
                if let Some(start) = message.find(&at) {
                    message.replace_range(start..start + at.len(), "");
                }
                Lines::new(text).position(location.line(), location.column())
            }
            // yaml_serde places neither "more than one document" nor its alias-expansion limit.
            None if message.starts_with("deserializing from YAML containing more than one") => {
                message = "the file holds more than one YAML document; a policy is one".into();
                (second_document_line(text).unwrap_or(1), 1)
            }
            None => (1, 1),
        };
        PolicyError {
            kind,
            line,
            column,
            message,
        }
    }
}

/// The line (1-based) of the document marker (`---` or `...`) that ends the first YAML document
/// of `text`, if there is one after some content.
fn second_document_line(text: &str) -> Option<usize> {
    let is_marker = |line: &str, marker: &str| {
        line.strip_prefix(marker)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with([' ', '\t', '\r']))
    };
    let mut content = false;
    for (i, line) in editor_lines(text).enumerate() {
        if is_marker(line, "---") || is_marker(line, "...") {
            if content {
                return Some(i + 1);
            }
        } else if !(line.trim().is_empty() || line.starts_with('#') || line.starts_with('%')) {
            content = true;
        }
    }
    None
}

/// The line named by an error made for a probe: `… at line L column C`. yaml_serde leaves out the
/// position only when it is the very start of the input, which is line 1.
fn probe_line(error: &str) -> usize {
    error
        .rsplit_once(" at line ")
        .and_then(|(_, rest)| rest.split(' ').next()?.parse().ok())
        .unwrap_or(1)
}

/// "a, b and c".
fn and_list(items: &[&str]) -> String {
    match items {
        [] => String::new(),
        [one] => (*one).to_string(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// Reads a key of a mapping whose keys are `keys`; the value is the key's index. Unknown and
/// repeated keys are errors at the key. With `probe`, a known key is recorded in the context and
/// an error is returned on purpose, to learn the key's position.
struct KeySeed<'c> {
    ctx: &'c Ctx,
    keys: &'static [&'static str],
    what: &'static str,
    seen: &'c Cell<u32>,
    probe: bool,
}

impl<'de> DeserializeSeed<'de> for KeySeed<'_> {
    type Value = usize;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<usize, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySeed<'_> {
    type Value = usize;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "one of the keys {}", and_list(self.keys))
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<usize, E> {
        let Some(i) = self.keys.iter().position(|k| *k == key) else {
            return Err(self.ctx.fail(
                PolicyErrorKind::Key,
                format_args!(
                    "unknown key `{key}`; {} takes {}",
                    self.what,
                    and_list(self.keys)
                ),
            ));
        };
        let bit = 1 << i;
        if self.seen.get() & bit != 0 {
            return Err(self
                .ctx
                .fail(PolicyErrorKind::Key, format_args!("`{key}` is given twice")));
        }
        self.seen.set(self.seen.get() | bit);
        if self.probe {
            self.ctx.probed.set(Some(i));
            return Err(E::custom(PROBE));
        }
        Ok(i)
    }
}

/// The whole document: `[allow, forbid, require]`.
struct TopSeed<'c>(&'c Ctx);

impl<'de> DeserializeSeed<'de> for TopSeed<'_> {
    type Value = [Vec<Entry>; 3];

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for TopSeed<'_> {
    type Value = [Vec<Entry>; 3];

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a policy: a mapping with version, allow, forbid and require")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let ctx = self.0;
        let seen = Cell::new(0);
        let mut lists: [Vec<Entry>; 3] = Default::default();
        let mut version = false;
        while let Some(key) = map.next_key_seed(KeySeed {
            ctx,
            keys: TOP_KEYS,
            what: "a policy",
            seen: &seen,
            probe: false,
        })? {
            match key {
                0 => {
                    map.next_value_seed(VersionSeed(ctx))?;
                    version = true;
                }
                _ => {
                    let list = [List::Allow, List::Forbid, List::Require][key - 1];
                    lists[key - 1] = map.next_value_seed(ListSeed { ctx, list })?;
                }
            }
        }
        if !version {
            let message = if seen.get() == 0 {
                "the policy is empty; it needs at least `version: \"1\"`"
            } else {
                "the policy has no `version`; add `version: \"1\"`"
            };
            return Err(ctx.fail(PolicyErrorKind::Version, message));
        }
        Ok(lists)
    }
}

/// `version`, which must be "1" (a plain `1` is read as the same text).
struct VersionSeed<'c>(&'c Ctx);

impl<'de> DeserializeSeed<'de> for VersionSeed<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for VersionSeed<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the version \"{VERSION}\"")
    }

    fn visit_str<E: de::Error>(self, version: &str) -> Result<(), E> {
        if version == VERSION {
            Ok(())
        } else {
            Err(self.0.fail(
                PolicyErrorKind::Version,
                format_args!("unsupported version `{version}`; the only version is \"{VERSION}\""),
            ))
        }
    }
}

/// One of the lists.
struct ListSeed<'c> {
    ctx: &'c Ctx,
    list: List,
}

impl<'de> DeserializeSeed<'de> for ListSeed<'_> {
    type Value = Vec<Entry>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Vec<Entry>, D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for ListSeed<'_> {
    type Value = Vec<Entry>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of entries")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<Entry>, A::Error> {
        let mut entries = Vec::new();
        while let Some(entry) = seq.next_element_seed(EntrySeed {
            ctx: self.ctx,
            list: self.list,
        })? {
            entries.push(entry);
        }
        Ok(entries)
    }
}

/// One entry.
struct EntrySeed<'c> {
    ctx: &'c Ctx,
    list: List,
}

impl<'de> DeserializeSeed<'de> for EntrySeed<'_> {
    type Value = Entry;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Entry, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for EntrySeed<'_> {
    type Value = Entry;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "an entry: a mapping with {}", and_list(ENTRY_KEYS))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Entry, A::Error> {
        let ctx = self.ctx;
        let seen = Cell::new(0);
        let mut entry = Entry::new(self.list);
        loop {
            let first = seen.get() == 0;
            let key = match map.next_key_seed(KeySeed {
                ctx,
                keys: ENTRY_KEYS,
                what: "an entry",
                seen: &seen,
                probe: first,
            }) {
                Ok(None) => break,
                Ok(Some(key)) => key,
                Err(error) => match ctx.probed.take() {
                    Some(key) => {
                        entry.line = probe_line(&error.to_string());
                        key
                    }
                    None => return Err(error),
                },
            };
            match key {
                0 => (entry.sha1, entry.sha256) = map.next_value_seed(FingerprintsSeed(ctx))?,
                1 => entry.comment = map.next_value()?,
                2 => entry.subject = Some(map.next_value_seed(RegexSeed(ctx, "subject"))?),
                3 => entry.issuer = Some(map.next_value_seed(RegexSeed(ctx, "issuer"))?),
                4 => entry.mozilla = Some(map.next_value_seed(MozillaSeed(ctx))?),
                5 => entry.expired = Some(map.next_value_seed(BoolSeed(ctx, "expired"))?),
                _ => entry.ca = Some(map.next_value_seed(BoolSeed(ctx, "ca"))?),
            }
        }
        if !entry.has_condition() {
            return Err(ctx.fail(
                PolicyErrorKind::NoCondition,
                format_args!(
                    "this entry has no condition, so it would match every certificate; give at \
                     least one of {}",
                    and_list(CONDITION_KEYS)
                ),
            ));
        }
        Ok(entry)
    }
}

/// `fingerprints`: `(sha1, sha256)`, at least one of them.
struct FingerprintsSeed<'c>(&'c Ctx);

impl<'de> DeserializeSeed<'de> for FingerprintsSeed<'_> {
    type Value = (Option<[u8; 20]>, Option<[u8; 32]>);

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for FingerprintsSeed<'_> {
    type Value = (Option<[u8; 20]>, Option<[u8; 32]>);

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a mapping with sha1 or sha256")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let ctx = self.0;
        let seen = Cell::new(0);
        let (mut sha1, mut sha256) = (None, None);
        while let Some(key) = map.next_key_seed(KeySeed {
            ctx,
            keys: FINGERPRINT_KEYS,
            what: "`fingerprints`",
            seen: &seen,
            probe: false,
        })? {
            let digest = if key == 0 {
                Digest::Sha1
            } else {
                Digest::Sha256
            };
            let bytes = map.next_value_seed(HexSeed(ctx, digest))?;
            match bytes {
                None => {}
                Some(bytes) if key == 0 => sha1 = bytes.try_into().ok(),
                Some(bytes) => sha256 = bytes.try_into().ok(),
            }
        }
        if sha1.is_none() && sha256.is_none() {
            return Err(ctx.fail(
                PolicyErrorKind::NoCondition,
                "`fingerprints` gives neither sha1 nor sha256",
            ));
        }
        Ok((sha1, sha256))
    }
}

#[derive(Clone, Copy)]
enum Digest {
    Sha1,
    Sha256,
}

impl Digest {
    fn name(self) -> &'static str {
        match self {
            Digest::Sha1 => "sha1",
            Digest::Sha256 => "sha256",
        }
    }

    fn len(self) -> usize {
        match self {
            Digest::Sha1 => 20,
            Digest::Sha256 => 32,
        }
    }
}

/// A fingerprint in hex, with or without colons between bytes; empty or null is no fingerprint
/// (as in Paranoia).
struct HexSeed<'c>(&'c Ctx, Digest);

impl<'de> DeserializeSeed<'de> for HexSeed<'_> {
    type Value = Option<Vec<u8>>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_option(self)
    }
}

impl<'de> Visitor<'de> for HexSeed<'_> {
    type Value = Option<Vec<u8>>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a {} fingerprint in hex", self.1.name())
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_str(self)
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<Self::Value, E> {
        if text.trim().is_empty() {
            return Ok(None);
        }
        parse_fingerprint(text, self.1)
            .map(Some)
            .map_err(|message| self.0.fail(PolicyErrorKind::Fingerprint, message))
    }
}

/// Decodes a fingerprint: hex of either case, optionally `AB:CD:…`.
fn parse_fingerprint(text: &str, digest: Digest) -> Result<Vec<u8>, String> {
    let text = text.trim();
    let name = digest.name();
    let hex: String = if text.contains(':') {
        if !text
            .split(':')
            .all(|pair| pair.len() == 2 && pair.bytes().all(|b| b.is_ascii_hexdigit()))
        {
            return Err(format!(
                "the {name} fingerprint `{text}` is neither hex nor hex pairs separated by colons \
                 (`AB:CD:…`)"
            ));
        }
        text.split(':').collect()
    } else {
        text.to_string()
    };
    if let Some((at, c)) = hex.char_indices().find(|(_, c)| !c.is_ascii_hexdigit()) {
        return Err(format!(
            "the {name} fingerprint `{text}` is not hex: `{c}` at character {}",
            hex[..at].chars().count() + 1
        ));
    }
    let digits = 2 * digest.len();
    if hex.len() != digits {
        let hint = match (digest, hex.len()) {
            (Digest::Sha256, 40) => "; is it a SHA-1 fingerprint? Give it as `sha1`",
            (Digest::Sha1, 64) => "; is it a SHA-256 fingerprint? Give it as `sha256`",
            _ => "",
        };
        return Err(format!(
            "a {name} fingerprint is {digits} hex digits, this one has {}{hint}",
            hex.len()
        ));
    }
    hex::decode(&hex).map_err(|e| format!("the {name} fingerprint `{text}` is not hex: {e}"))
}

/// `subject` or `issuer`: a regular expression.
struct RegexSeed<'c>(&'c Ctx, &'static str);

impl<'de> DeserializeSeed<'de> for RegexSeed<'_> {
    type Value = Regex;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Regex, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for RegexSeed<'_> {
    type Value = Regex;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a regular expression for the {}", self.1)
    }

    fn visit_str<E: de::Error>(self, pattern: &str) -> Result<Regex, E> {
        Regex::new(pattern).map_err(|error| {
            // The syntax error is several lines with a caret; its last line says what is wrong.
            let reason = match &error {
                regex::Error::Syntax(text) => text
                    .lines()
                    .last()
                    .map(|l| l.trim_start_matches("error: ").to_string())
                    .unwrap_or_default(),
                other => other.to_string(),
            };
            self.0.fail(
                PolicyErrorKind::Regex,
                format_args!("`{pattern}` is not a valid regular expression: {reason}"),
            )
        })
    }
}

/// `mozilla`: included, removed or unknown.
struct MozillaSeed<'c>(&'c Ctx);

impl<'de> DeserializeSeed<'de> for MozillaSeed<'_> {
    type Value = MozillaState;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<MozillaState, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for MozillaSeed<'_> {
    type Value = MozillaState;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("included, removed or unknown")
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<MozillaState, E> {
        match value {
            "included" => Ok(MozillaState::Included),
            "removed" => Ok(MozillaState::Removed),
            "unknown" => Ok(MozillaState::Unknown),
            _ => Err(self.0.fail(
                PolicyErrorKind::Value,
                format_args!("`mozilla` takes included, removed or unknown, not `{value}`"),
            )),
        }
    }
}

/// `expired` or `ca`: true or false.
struct BoolSeed<'c>(&'c Ctx, &'static str);

impl<'de> DeserializeSeed<'de> for BoolSeed<'_> {
    type Value = bool;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<bool, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for BoolSeed<'_> {
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("true or false")
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<bool, E> {
        match value {
            "true" | "True" | "TRUE" => Ok(true),
            "false" | "False" | "FALSE" => Ok(false),
            _ => Err(self.0.fail(
                PolicyErrorKind::Value,
                format_args!("`{}` takes true or false, not `{value}`", self.1),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    /// ISRG Root X1 (Let's Encrypt), in Mozilla's root store; valid until 2035.
    const ISRG_ROOT_X1: &str = "\
-----BEGIN CERTIFICATE-----\n\
MIIFazCCA1OgAwIBAgIRAIIQz7DSQONZRGPgu2OCiwAwDQYJKoZIhvcNAQELBQAw\n\
TzELMAkGA1UEBhMCVVMxKTAnBgNVBAoTIEludGVybmV0IFNlY3VyaXR5IFJlc2Vh\n\
cmNoIEdyb3VwMRUwEwYDVQQDEwxJU1JHIFJvb3QgWDEwHhcNMTUwNjA0MTEwNDM4\n\
WhcNMzUwNjA0MTEwNDM4WjBPMQswCQYDVQQGEwJVUzEpMCcGA1UEChMgSW50ZXJu\n\
ZXQgU2VjdXJpdHkgUmVzZWFyY2ggR3JvdXAxFTATBgNVBAMTDElTUkcgUm9vdCBY\n\
MTCCAiIwDQYJKoZIhvcNAQEBBQADggIPADCCAgoCggIBAK3oJHP0FDfzm54rVygc\n\
h77ct984kIxuPOZXoHj3dcKi/vVqbvYATyjb3miGbESTtrFj/RQSa78f0uoxmyF+\n\
0TM8ukj13Xnfs7j/EvEhmkvBioZxaUpmZmyPfjxwv60pIgbz5MDmgK7iS4+3mX6U\n\
A5/TR5d8mUgjU+g4rk8Kb4Mu0UlXjIB0ttov0DiNewNwIRt18jA8+o+u3dpjq+sW\n\
T8KOEUt+zwvo/7V3LvSye0rgTBIlDHCNAymg4VMk7BPZ7hm/ELNKjD+Jo2FR3qyH\n\
B5T0Y3HsLuJvW5iB4YlcNHlsdu87kGJ55tukmi8mxdAQ4Q7e2RCOFvu396j3x+UC\n\
B5iPNgiV5+I3lg02dZ77DnKxHZu8A/lJBdiB3QW0KtZB6awBdpUKD9jf1b0SHzUv\n\
KBds0pjBqAlkd25HN7rOrFleaJ1/ctaJxQZBKT5ZPt0m9STJEadao0xAH0ahmbWn\n\
OlFuhjuefXKnEgV4We0+UXgVCwOPjdAvBbI+e0ocS3MFEvzG6uBQE3xDk3SzynTn\n\
jh8BCNAw1FtxNrQHusEwMFxIt4I7mKZ9YIqioymCzLq9gwQbooMDQaHWBfEbwrbw\n\
qHyGO0aoSCqI3Haadr8faqU9GY/rOPNk3sgrDQoo//fb4hVC1CLQJ13hef4Y53CI\n\
rU7m2Ys6xt0nUW7/vGT1M0NPAgMBAAGjQjBAMA4GA1UdDwEB/wQEAwIBBjAPBgNV\n\
HRMBAf8EBTADAQH/MB0GA1UdDgQWBBR5tFnme7bl5AFzgAiIyBpY9umbbjANBgkq\n\
hkiG9w0BAQsFAAOCAgEAVR9YqbyyqFDQDLHYGmkgJykIrGF1XIpu+ILlaS/V9lZL\n\
ubhzEFnTIZd+50xx+7LSYK05qAvqFyFWhfFQDlnrzuBZ6brJFe+GnY+EgPbk6ZGQ\n\
3BebYhtF8GaV0nxvwuo77x/Py9auJ/GpsMiu/X1+mvoiBOv/2X/qkSsisRcOj/KK\n\
NFtY2PwByVS5uCbMiogziUwthDyC3+6WVwW6LLv3xLfHTjuCvjHIInNzktHCgKQ5\n\
ORAzI4JMPJ+GslWYHb4phowim57iaztXOoJwTdwJx4nLCgdNbOhdjsnvzqvHu7Ur\n\
TkXWStAmzOVyyghqpZXjFaH3pO3JLF+l+/+sKAIuvtd7u+Nxe5AW0wdeRlN8NwdC\n\
jNPElpzVmbUq4JUagEiuTDkHzsxHpFKVK7q4+63SM1N95R1NbdWhscdCb+ZAJzVc\n\
oyi3B43njTOQ5yOf+1CceWxG1bQVs5ZufpsMljq4Ui0/1lvh+wjChP4kqKOJ2qxq\n\
4RgqsahDYVvTH9w7jXbyLeiNdd8XM2w9U/t7y0Ff/9yi0GE44Za4rF2LN9d11TPA\n\
mRGunUHBcnWEvgJBQl9nJEiU0Zsnvgc/ubhPgXRR4Xq37Z0j4r7g1SgEEzwxA57d\n\
emyPxgcYxn/eR44/KJ4EBs+lVDR3veyJm+kXQ99b21/+jh5Xos1AnX5iItreGCc=\n\
-----END CERTIFICATE-----\n";

    /// Baltimore CyberTrust Root, removed from Mozilla's root store in 2025; expired 2025-05-12.
    const BALTIMORE: &str = "\
-----BEGIN CERTIFICATE-----\n\
MIIDdzCCAl+gAwIBAgIEAgAAuTANBgkqhkiG9w0BAQUFADBaMQswCQYDVQQGEwJJ\n\
RTESMBAGA1UEChMJQmFsdGltb3JlMRMwEQYDVQQLEwpDeWJlclRydXN0MSIwIAYD\n\
VQQDExlCYWx0aW1vcmUgQ3liZXJUcnVzdCBSb290MB4XDTAwMDUxMjE4NDYwMFoX\n\
DTI1MDUxMjIzNTkwMFowWjELMAkGA1UEBhMCSUUxEjAQBgNVBAoTCUJhbHRpbW9y\n\
ZTETMBEGA1UECxMKQ3liZXJUcnVzdDEiMCAGA1UEAxMZQmFsdGltb3JlIEN5YmVy\n\
VHJ1c3QgUm9vdDCCASIwDQYJKoZIhvcNAQEBBQADggEPADCCAQoCggEBAKMEuyKr\n\
mD1X6CZymrV51Cni4eiVgLGw41uOKymaZN+hXe2wCQVt2yguzmKiYv60iNoS6zjr\n\
IZ3AQSsBUnuId9Mcj8e6uYi1agnnc+gRQKfRzMpijS3ljwumUNKoUMMo6vWrJYeK\n\
mpYcqWe4PwzV9/lSEy/CG9VwcPCPwBLKBsua4dnKM3p31vjsufFoREJIE9LAwqSu\n\
XmD+tqYF/LTdB1kC1FkYmGP1pWPgkAx9XbIGevOF6uvUA65ehD5f/xXtabz5OTZy\n\
dc93Uk3zyZAsuT3lySNTPx8kmCFcB5kpvcY67Oduhjprl3RjM71oGDHweI12v/ye\n\
jl0qhqdNkNwnGjkCAwEAAaNFMEMwHQYDVR0OBBYEFOWdWTCCR1jMrPoIVDaGezq1\n\
BE3wMBIGA1UdEwEB/wQIMAYBAf8CAQMwDgYDVR0PAQH/BAQDAgEGMA0GCSqGSIb3\n\
DQEBBQUAA4IBAQCFDF2O5G9RaEIFoN27TyclhAO992T9Ldcw46QQF+vaKSm2eT92\n\
9hkTI7gQCvlYpNRhcL0EYWoSihfVCr3FvDB81ukMJY2GQE/szKN+OMY3EU/t3Wgx\n\
jkzSswF07r51XgdIGn9w/xZchMB5hbgF/X++ZRGjD8ACtPhSNzkE1akxehi/oCr0\n\
Epn3o0WC4zxe9Z2etciefC7IpJ5OCBRLbf1wbWsaY71k5h+3zvDyny67G7fyUIhz\n\
ksLi4xaNmjICq44Y3ekQEe5+NauQrz4wlHrQMz2nZQ/1/I6eYs9HRCwBXbsdtTLS\n\
R9I4LtD+gdwyah617jzV/OeBHRnDJELqYzmp\n\
-----END CERTIFICATE-----\n";

    use crate::detect::Parser;
    use crate::detect::testing::{issued, openssl_certificate, read, self_signed};
    use base64::Engine;
    use std::path::Path;
    use std::sync::Arc;

    const PARANOIA_README: &str =
        include_str!("../../tests/policy_configs/paranoia-readme-forbid.yaml");
    const PARANOIA_HELP: &str =
        include_str!("../../tests/policy_configs/paranoia-validate-help.yaml");
    const PARANOIA_REPO: &str = include_str!("../../tests/policy_configs/paranoia-repo.yaml");
    const EXTENDED: &str = include_str!("../../tests/policy_configs/rootsift-extended.yaml");

    /// 2026-01-01T00:00:00Z: after Baltimore expired, before ISRG Root X1 does.
    const NOW: i64 = 1_767_225_600;

    fn policy(yaml: &str) -> Policy {
        Policy::from_yaml(yaml).unwrap_or_else(|e| panic!("{e}\n{yaml}"))
    }

    fn error(yaml: &str) -> PolicyError {
        match Policy::from_yaml(yaml) {
            Ok(p) => panic!("accepted ({}):\n{yaml}", p.describe(false)),
            Err(e) => e,
        }
    }

    /// The single allow entry of a policy made of `conditions` (a flow mapping).
    fn entry(conditions: &str) -> Entry {
        policy(&format!("version: \"1\"\nallow:\n  - {conditions}\n")).allow[0].clone()
    }

    fn pem_to_der(pem: &[u8]) -> Vec<u8> {
        let body: String = String::from_utf8_lossy(pem)
            .lines()
            .filter(|l| !l.starts_with("-----"))
            .collect();
        base64::engine::general_purpose::STANDARD
            .decode(body)
            .expect("base64")
    }

    fn cert_from_pem(pem: &[u8]) -> Arc<Certificate> {
        Arc::new(Certificate::from_der(&pem_to_der(pem)).expect("certificate"))
    }

    /// A fresh self-signed certificate `CN=name` made by openssl.
    fn fresh(dir: &Path, name: &str) -> Arc<Certificate> {
        let (_, der) = openssl_certificate(dir, name);
        Arc::new(Certificate::from_der(&der).expect("certificate"))
    }

    fn finding(cert: &Arc<Certificate>, location: &str) -> Finding {
        Finding {
            location: location.to_string(),
            target: Arc::from("/"),
            offset: 0,
            parser: Parser::Pem,
            cert: Arc::clone(cert),
            layer: None,
        }
    }

    fn locations(findings: &[&Finding]) -> Vec<String> {
        findings.iter().map(|f| f.location.clone()).collect()
    }

    fn lines(entries: &[&Entry]) -> Vec<usize> {
        entries.iter().map(|e| e.line()).collect()
    }

    #[test]
    fn paranoia_configs_are_read_verbatim() {
        let readme = policy(PARANOIA_README);
        assert_eq!(
            (
                readme.allow().len(),
                readme.forbid().len(),
                readme.require().len()
            ),
            (0, 1, 0)
        );
        let internal = &readme.forbid()[0];
        assert_eq!(internal.list(), List::Forbid);
        assert_eq!(internal.line(), 3);
        assert_eq!(internal.comment(), Some("An internal-only cert"));
        assert_eq!(
            internal.sha256().map(hex::encode),
            Some("bd40be0eccfce513ab318882f03962e4e2ec3799b51392e82805d9249e426d28".into())
        );
        assert_eq!(
            internal.describe(),
            "sha256 BD40BE0ECCFCE513AB318882F03962E4E2EC3799B51392E82805D9249E426D28"
        );
        assert_eq!(
            readme.describe(false),
            "0 allowed, 1 forbidden and 0 required entries, strict mode"
        );

        let help = policy(PARANOIA_HELP);
        assert_eq!(
            help.describe(false),
            "1 allowed, 1 forbidden and 1 required entries, strict mode"
        );
        assert_eq!(
            help.describe(true),
            "1 allowed, 1 forbidden and 1 required entries, permissive mode (the allow list is \
             not checked)"
        );
        assert_eq!(
            [
                help.require()[0].line(),
                help.allow()[0].line(),
                help.forbid()[0].line()
            ],
            [3, 7, 11]
        );
        assert_eq!(help.allow()[0].comment(), Some("ISRG X1 Root"));
        assert_eq!(
            help.allow()[0].sha256().map(hex::encode),
            Some("96bcec06264976f37460779acf28c5a7cfe8a3c0aae11a8ffcee05c0bddf08c6".into())
        );

        let repo = policy(PARANOIA_REPO);
        let digicert = &repo.require()[0];
        assert_eq!(digicert.line(), 3);
        assert_eq!(
            digicert.sha256().map(hex::encode),
            Some("4348a0e9444c78cb265e058d5e8944b4d84f9662bd26db257f8934a443c70161".into())
        );
        assert_eq!(
            digicert.comment(),
            Some("DigiCert Global Root, required for fetching Mozilla CA list")
        );
        assert_eq!(digicert.sha1(), None);
    }

    #[test]
    fn the_documented_example_is_read_and_stays_in_the_docs() {
        let source = include_str!("policy.rs");
        for line in EXTENDED.lines() {
            let doc = format!("//! {line}").trim_end().to_string();
            assert!(
                source.lines().any(|l| l == doc),
                "not in the module doc: {line}"
            );
        }
        let p = policy(EXTENDED);
        assert_eq!(
            p.describe(false),
            "3 allowed, 3 forbidden and 1 required entries, strict mode"
        );
        let described: Vec<(usize, String)> = p
            .allow()
            .iter()
            .chain(p.forbid())
            .chain(p.require())
            .map(|e| (e.line(), e.describe()))
            .collect();
        assert_eq!(
            described,
            [
                (4, "mozilla: included".to_string()),
                (
                    6,
                    "sha256 4348A0E9444C78CB265E058D5E8944B4D84F9662BD26DB257F8934A443C70161"
                        .to_string()
                ),
                (
                    10,
                    r"issuer ~ /^CN=Acme Internal CA,O=Acme\b/, expired: false".to_string()
                ),
                (14, "mozilla: removed".to_string()),
                (
                    16,
                    "sha1 D4DE20D05E66FC53FE1A50882C78DB2852CAE474".to_string()
                ),
                (
                    19,
                    r"subject ~ /(?i)\b(test|example)\b/, ca: true".to_string()
                ),
                (
                    22,
                    "subject ~ /^CN=ISRG Root X1,/, mozilla: included".to_string()
                ),
            ]
        );
        assert_eq!(p.forbid()[2].comment(), None);
        assert_eq!(p.require()[0].comment(), Some("Let's Encrypt"));
        assert_eq!(p.require()[0].list(), List::Require);
    }

    #[test]
    fn strict_mode_needs_every_certificate_allowed_permissive_does_not() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b, c) = (
            fresh(dir.path(), "policy-a"),
            fresh(dir.path(), "policy-b"),
            fresh(dir.path(), "policy-c"),
        );
        let sha1_colons = b
            .sha1
            .iter()
            .map(|x| format!("{x:02X}"))
            .collect::<Vec<_>>()
            .join(":");
        let p = policy(&format!(
            "version: \"1\"\nallow:\n  - fingerprints:\n      sha256: {}\nrequire:\n  - \
             fingerprints:\n      sha1: {sha1_colons}\n",
            a.sha256_hex()
        ));
        let findings = [
            finding(&a, "/a.pem"),
            finding(&b, "/b.pem"),
            finding(&c, "/c.pem"),
            finding(&c, "/again/c.pem"),
        ];
        let data = MozillaData::embedded();

        let strict = p.evaluate(&findings, data, NOW, false);
        assert_eq!(locations(&strict.not_allowed), ["/c.pem", "/again/c.pem"]);
        assert!(strict.forbidden.is_empty());
        assert!(strict.required_absent.is_empty());
        assert!(!strict.passed());

        let permissive = p.evaluate(&findings, data, NOW, true);
        assert!(permissive.passed(), "{permissive:?}");

        // Allowed (by allow or require) is enough in strict mode.
        assert!(p.evaluate(&findings[..2], data, NOW, false).passed());
        // Nothing found: every required entry is absent, in either mode.
        for permissive in [false, true] {
            let v = p.evaluate(&[], data, NOW, permissive);
            assert_eq!(lines(&v.required_absent), [6]);
            assert!(!v.passed());
        }
    }

    #[test]
    fn forbid_by_sha1_or_sha256_in_either_case() {
        let dir = tempfile::tempdir().unwrap();
        let (bad, good) = (fresh(dir.path(), "forbidden"), fresh(dir.path(), "fine"));
        let colons = |bytes: &[u8]| {
            bytes
                .iter()
                .map(|x| format!("{x:02x}"))
                .collect::<Vec<_>>()
                .join(":")
        };
        let forms = [
            ("sha256", bad.sha256_hex()),
            ("sha256", bad.sha256_hex().to_uppercase()),
            ("sha256", colons(&bad.sha256)),
            ("sha1", bad.sha1_hex()),
            ("sha1", bad.sha1_hex().to_uppercase()),
            ("sha1", colons(&bad.sha1).to_uppercase()),
        ];
        let findings = [finding(&good, "/good.pem"), finding(&bad, "/bad.pem")];
        for (algorithm, fingerprint) in forms {
            let p = policy(&format!(
                "version: \"1\"\nforbid:\n  - comment: \"no\"\n    fingerprints:\n      \
                 {algorithm}: {fingerprint}\n"
            ));
            for permissive in [false, true] {
                let v = p.evaluate(&findings, MozillaData::embedded(), NOW, permissive);
                assert_eq!(v.forbidden.len(), 1, "{algorithm} {fingerprint}");
                let (found, entry) = v.forbidden[0];
                assert_eq!(found.location, "/bad.pem");
                assert_eq!((entry.line(), entry.comment()), (3, Some("no")));
                assert!(v.required_absent.is_empty());
                // Nothing is allowed: strict mode also reports both as not allowed.
                let expected: &[&str] = if permissive {
                    &[]
                } else {
                    &["/good.pem", "/bad.pem"]
                };
                assert_eq!(locations(&v.not_allowed), expected);
            }
        }
    }

    #[test]
    fn require_is_met_by_any_matching_certificate() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b, c) = (
            fresh(dir.path(), "req-a"),
            fresh(dir.path(), "req-b"),
            fresh(dir.path(), "req-c"),
        );
        let p = policy(&format!(
            "version: \"1\"\nrequire:\n  - fingerprints: {{sha256: {}}}\n  - fingerprints: \
             {{sha1: {}}}\n  - subject: '^CN=req-c$'\n  - {{subject: 'req-', ca: true}}\n",
            a.sha256_hex().to_uppercase(),
            b.sha1_hex()
        ));
        let data = MozillaData::embedded();
        let only_a = [finding(&a, "/a")];
        let v = p.evaluate(&only_a, data, NOW, false);
        assert_eq!(lines(&v.required_absent), [4, 5]);
        assert!(
            v.not_allowed.is_empty(),
            "required entries allow what they match"
        );

        let all = [finding(&c, "/c"), finding(&b, "/b"), finding(&a, "/a")];
        let v = p.evaluate(&all, data, NOW, false);
        assert!(v.passed(), "{v:?}");
    }

    #[test]
    fn the_first_forbid_entry_in_file_order_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let cert = fresh(dir.path(), "twice-forbidden");
        let by_fingerprint = format!("fingerprints: {{sha256: {}}}", cert.sha256_hex());
        let by_name = "subject: 'twice'";
        for (first, second, line) in [
            (&*by_fingerprint, by_name, 3),
            (by_name, &*by_fingerprint, 3),
        ] {
            let p = policy(&format!(
                "version: \"1\"\nforbid:\n  - {{{first}}}\n  - {{{second}}}\n"
            ));
            let findings = [finding(&cert, "/x")];
            let v = p.evaluate(&findings, MozillaData::embedded(), NOW, true);
            assert_eq!(v.forbidden.len(), 1);
            assert_eq!(v.forbidden[0].1.line(), line);
            assert_eq!(v.forbidden[0].1.describe(), p.forbid()[0].describe());
        }
    }

    #[test]
    fn fingerprint_conditions_combine_with_the_others() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (fresh(dir.path(), "combo-a"), fresh(dir.path(), "combo-b"));
        let data = MozillaData::embedded();
        let both = entry(&format!(
            "fingerprints: {{sha256: {}, sha1: {}}}",
            a.sha256_hex(),
            a.sha1_hex()
        ));
        assert!(both.matches(&a, data, NOW));
        assert!(!both.matches(&b, data, NOW));
        let mixed = entry(&format!(
            "fingerprints: {{sha256: {}, sha1: {}}}",
            a.sha256_hex(),
            b.sha1_hex()
        ));
        assert!(!mixed.matches(&a, data, NOW) && !mixed.matches(&b, data, NOW));
        let named = entry(&format!(
            "{{fingerprints: {{sha256: {}}}, subject: combo-a}}",
            a.sha256_hex()
        ));
        assert!(named.matches(&a, data, NOW));
        let misnamed = entry(&format!(
            "{{fingerprints: {{sha256: {}}}, subject: combo-b}}",
            a.sha256_hex()
        ));
        assert!(!misnamed.matches(&a, data, NOW));
        // Through the index, too.
        let p = policy(&format!(
            "version: \"1\"\nallow:\n  - {{fingerprints: {{sha256: {}}}, subject: combo-b}}\n",
            a.sha256_hex()
        ));
        let findings = [finding(&a, "/a")];
        assert_eq!(p.evaluate(&findings, data, NOW, false).not_allowed.len(), 1);
    }

    #[test]
    fn subject_and_issuer_are_unanchored_regexes_on_the_printed_names() {
        let dir = tempfile::tempdir().unwrap();
        let acme = fresh(dir.path(), "acme-web");
        let isrg = cert_from_pem(ISRG_ROOT_X1.as_bytes());
        assert_eq!(
            isrg.subject,
            "CN=ISRG Root X1,O=Internet Security Research Group,C=US"
        );
        let data = MozillaData::embedded();
        let cases = [
            ("subject: acme", true, false),
            ("subject: '^CN=acme-web$'", true, false),
            ("subject: '^acme'", false, false),
            ("subject: 'ACME'", false, false),
            ("subject: '(?i)ACME'", true, false),
            ("issuer: 'web$'", true, false),
            ("subject: 'Research Group,C=US$'", false, true),
            (
                "issuer: '^CN=ISRG Root X1,O=Internet Security Research Group,C=US$'",
                false,
                true,
            ),
            ("{subject: 'ISRG', issuer: 'acme'}", false, false),
            ("subject: ''", true, true),
        ];
        for (conditions, on_acme, on_isrg) in cases {
            let e = entry(conditions);
            assert_eq!(e.matches(&acme, data, NOW), on_acme, "{conditions} on acme");
            assert_eq!(e.matches(&isrg, data, NOW), on_isrg, "{conditions} on ISRG");
        }
    }

    #[test]
    fn mozilla_conditions_follow_the_embedded_root_store() {
        let dir = tempfile::tempdir().unwrap();
        let data = MozillaData::embedded();
        let isrg = cert_from_pem(ISRG_ROOT_X1.as_bytes());
        let baltimore = cert_from_pem(BALTIMORE.as_bytes());
        let private = fresh(dir.path(), "private-root");
        let state = |c: &Certificate| MozillaState::of(&data.status(&c.sha256));
        assert_eq!(
            state(&isrg),
            MozillaState::Included,
            "embedded data lacks ISRG Root X1"
        );
        assert_eq!(
            state(&baltimore),
            MozillaState::Removed,
            "embedded data lacks Baltimore"
        );
        assert_eq!(state(&private), MozillaState::Unknown);
        for (value, expected) in [
            ("included", [true, false, false]),
            ("removed", [false, true, false]),
            ("unknown", [false, false, true]),
        ] {
            let e = entry(&format!("mozilla: {value}"));
            assert_eq!(e.mozilla().map(MozillaState::as_str), Some(value));
            let got = [&isrg, &baltimore, &private].map(|c| e.matches(c, data, NOW));
            assert_eq!(got, expected, "mozilla: {value}");
        }

        // The shorthand of Paranoia's issue #69: allow what Mozilla includes, forbid what it
        // removed.
        let p =
            policy("version: \"1\"\nallow: [{mozilla: included}]\nforbid: [{mozilla: removed}]\n");
        let findings = [
            finding(&isrg, "/isrg.pem"),
            finding(&baltimore, "/baltimore.pem"),
            finding(&private, "/private.pem"),
        ];
        let strict = p.evaluate(&findings, data, NOW, false);
        assert_eq!(
            locations(&strict.not_allowed),
            ["/baltimore.pem", "/private.pem"]
        );
        let forbidden: Vec<_> = strict
            .forbidden
            .iter()
            .map(|(f, e)| (&*f.location, e.line()))
            .collect();
        assert_eq!(forbidden, [("/baltimore.pem", 3)]);
        let permissive = p.evaluate(&findings, data, NOW, true);
        assert!(permissive.not_allowed.is_empty());
        assert_eq!(permissive.forbidden.len(), 1);
    }

    #[test]
    fn expired_compares_not_after_with_the_clock_given() {
        let data = MozillaData::embedded();
        let isrg = cert_from_pem(ISRG_ROOT_X1.as_bytes());
        let baltimore = cert_from_pem(BALTIMORE.as_bytes());
        let (expired, current) = (entry("expired: true"), entry("expired: false"));
        assert!(expired.matches(&baltimore, data, NOW) && !current.matches(&baltimore, data, NOW));
        assert!(current.matches(&isrg, data, NOW) && !expired.matches(&isrg, data, NOW));
        // Still valid during its last second; expired just after.
        let end = baltimore.not_after;
        assert!(current.matches(&baltimore, data, end));
        assert!(expired.matches(&baltimore, data, end + 1));
        // Through a policy: a forbid list of expired certificates.
        let p = policy("version: \"1\"\nforbid:\n  - expired: true\n    comment: stale\n");
        let findings = [finding(&isrg, "/isrg"), finding(&baltimore, "/baltimore")];
        let v = p.evaluate(&findings, data, NOW, true);
        assert_eq!(v.forbidden.len(), 1);
        assert_eq!(v.forbidden[0].0.location, "/baltimore");
        assert_eq!(v.forbidden[0].1.comment(), Some("stale"));
        assert!(p.evaluate(&findings, data, end, true).passed());
    }

    #[test]
    fn ca_follows_basic_constraints() {
        let dir = tempfile::tempdir().unwrap();
        self_signed(dir.path(), "policy-ca");
        issued(dir.path(), "policy-leaf", "policy-ca");
        let ca = cert_from_pem(&read(dir.path(), "policy-ca.pem"));
        let leaf = cert_from_pem(&read(dir.path(), "policy-leaf.pem"));
        assert!(ca.is_ca && !leaf.is_ca);
        let data = MozillaData::embedded();
        let (is_ca, not_ca) = (entry("ca: true"), entry("ca: false"));
        assert!(is_ca.matches(&ca, data, NOW) && !is_ca.matches(&leaf, data, NOW));
        assert!(not_ca.matches(&leaf, data, NOW) && !not_ca.matches(&ca, data, NOW));
        let anchored = entry("{ca: false, issuer: '^CN=policy-ca$'}");
        assert!(anchored.matches(&leaf, data, NOW) && !anchored.matches(&ca, data, NOW));
        assert_eq!(anchored.describe(), "issuer ~ /^CN=policy-ca$/, ca: false");
        assert_eq!(entry("ca: True").ca(), Some(true));
        assert_eq!(entry("expired: FALSE").expired(), Some(false));
    }

    #[test]
    fn lenient_where_paranoia_is() {
        // A plain 1 is the version "1"; empty or null fingerprints are absent, as in Paranoia.
        let p = policy(
            "version: 1\nallow:\n  - fingerprints:\n      sha1: \"\"\n      sha256: \
             4348A0E9444C78CB265E058D5E8944B4D84F9662BD26DB257F8934A443C70161\n  - fingerprints:\n      \
             sha1: ~\n      sha256: 96bcec06264976f37460779acf28c5a7cfe8a3c0aae11a8ffcee05c0bddf08c6\n",
        );
        assert!(
            p.allow()
                .iter()
                .all(|e| e.sha1().is_none() && e.sha256().is_some())
        );
        assert_eq!(lines(&p.allow().iter().collect::<Vec<_>>()), [3, 6]);
        // Empty lists, a leading document marker, comments everywhere.
        let p = policy("# policy\n---\nversion: \"1\" # the only one\nallow:\nforbid: []\n");
        assert_eq!(
            p.describe(true),
            "0 allowed, 0 forbidden and 0 required entries, permissive mode (the allow list is not checked)"
        );
        // Windows line ends and a byte-order mark change nothing.
        let crlf = format!("\u{feff}{}", PARANOIA_HELP.replace('\n', "\r\n"));
        let p = policy(&crlf);
        assert_eq!(
            [
                p.require()[0].line(),
                p.allow()[0].line(),
                p.forbid()[0].line()
            ],
            [3, 7, 11]
        );
        assert_eq!(p.forbid()[0].comment(), Some("An internal-only cert"));
        let e = error(&crlf.replace("sha256: bd40", "sha256: xd40"));
        assert_eq!(
            (e.kind, e.line, e.column),
            (PolicyErrorKind::Fingerprint, 13, 15)
        );
        // An entry whose first key is on the line after its dash starts on that line.
        let p = policy("version: \"1\"\nforbid:\n  -\n    mozilla: removed\n");
        assert_eq!(p.forbid()[0].line(), 4);
    }

    /// (yaml, kind, line, column, part of the message)
    const BROKEN: &[(&str, PolicyErrorKind, usize, usize, &str)] = {
        use PolicyErrorKind::*;
        &[
            // version
            (
                "allow:\n  - mozilla: included\n",
                Version,
                1,
                1,
                "the policy has no `version`",
            ),
            (
                "# a policy\n\nforbid:\n  - mozilla: removed\n",
                Version,
                3,
                1,
                "no `version`",
            ),
            ("", Version, 1, 1, "the policy is empty"),
            ("# nothing\n", Version, 2, 1, "the policy is empty"),
            (
                "version: \"2\"\n",
                Version,
                1,
                10,
                "unsupported version `2`",
            ),
            (
                "allow: []\nversion: 1.0\n",
                Version,
                2,
                10,
                "unsupported version `1.0`",
            ),
            ("version: [1]\n", Yaml, 1, 10, "expected the version \"1\""),
            // unknown and repeated keys, at every level
            (
                "version: \"1\"\nallowed:\n  - mozilla: included\n",
                Key,
                2,
                1,
                "unknown key `allowed`; a policy takes version, allow, forbid and require",
            ),
            (
                "version: \"1\"\nforbid:\n  - comment: x\n    fingerprint:\n      sha256: ab\n",
                Key,
                4,
                5,
                "forbid[0]: unknown key `fingerprint`; an entry takes fingerprints, comment",
            ),
            (
                "version: \"1\"\nrequire:\n  - fingerprints:\n      sha384: ab\n",
                Key,
                4,
                7,
                "require[0].fingerprints: unknown key `sha384`; `fingerprints` takes sha1 and sha256",
            ),
            (
                "version: \"1\"\nallow:\n  - {mozilla: included, Mozilla: removed}\n",
                Key,
                3,
                25,
                "unknown key `Mozilla`",
            ),
            (
                "version: \"1\"\nallow:\n  - mozilla: included\n    comment: a\n    comment: b\n",
                Key,
                5,
                5,
                "`comment` is given twice",
            ),
            (
                "version: \"1\"\nversion: \"1\"\n",
                Key,
                2,
                1,
                "`version` is given twice",
            ),
            // fingerprints
            (
                "version: \"1\"\nforbid:\n  - comment: \"An internal-only cert\"\n    fingerprints:\n      sha256: bd40be0eccfce513ab318882f03962e4e2ec3799b51392e82805d9249e426d2\n",
                Fingerprint,
                5,
                15,
                "forbid[0].fingerprints.sha256: a sha256 fingerprint is 64 hex digits, this one has 63",
            ),
            (
                "version: \"1\"\nforbid:\n  - fingerprints:\n      sha1: 'D4DE20D05E66FC53FE1A50882C78DB2852CAE47G'\n",
                Fingerprint,
                4,
                13,
                "is not hex: `G` at character 40",
            ),
            (
                "version: \"1\"\nforbid:\n  - fingerprints: {sha256: D4DE20D05E66FC53FE1A50882C78DB2852CAE474}\n",
                Fingerprint,
                3,
                28,
                "is it a SHA-1 fingerprint? Give it as `sha1`",
            ),
            (
                "version: \"1\"\nforbid:\n  - fingerprints: {sha1: D4:DE:2:D0:5E:66:FC:53:FE:1A:50:88:2C:78:DB:28:52:CA:E4:74}\n",
                Fingerprint,
                3,
                26,
                "hex pairs separated by colons",
            ),
            (
                "version: \"1\"\nforbid:\n  - fingerprints:\n      sha256: [ab]\n",
                Yaml,
                4,
                15,
                "invalid type: sequence, expected a sha256 fingerprint in hex",
            ),
            // entries without a condition
            (
                "version: \"1\"\nallow:\n  - mozilla: included\n  - comment: \"only a comment\"\n",
                NoCondition,
                4,
                5,
                "allow[1]: this entry has no condition, so it would match every certificate; give at least one of fingerprints, subject, issuer, mozilla, expired and ca",
            ),
            (
                "version: \"1\"\nallow:\n  - {}\n",
                NoCondition,
                3,
                5,
                "this entry has no condition",
            ),
            (
                "version: \"1\"\nallow:\n  -\n",
                NoCondition,
                3,
                4,
                "this entry has no condition",
            ),
            (
                "version: \"1\"\nallow:\n  - fingerprints: {}\n",
                NoCondition,
                3,
                19,
                "`fingerprints` gives neither sha1 nor sha256",
            ),
            (
                "version: \"1\"\nallow:\n  - fingerprints: {sha1: ~, sha256: ''}\n    comment: x\n",
                NoCondition,
                3,
                19,
                "`fingerprints` gives neither",
            ),
            // other values
            (
                "version: \"1\"\nallow:\n  - subject: '(unclosed'\n",
                Regex,
                3,
                14,
                "`(unclosed` is not a valid regular expression: unclosed group",
            ),
            (
                "version: \"1\"\nallow:\n  - issuer: \"\\\\p{Nope}\"\n",
                Regex,
                3,
                13,
                "not a valid regular expression: Unicode property not found",
            ),
            (
                "version: \"1\"\nallow:\n  - mozilla: Included\n",
                Value,
                3,
                14,
                "`mozilla` takes included, removed or unknown, not `Included`",
            ),
            (
                "version: \"1\"\nallow:\n  - ca: yes\n",
                Value,
                3,
                9,
                "`ca` takes true or false, not `yes`",
            ),
            (
                "version: \"1\"\nallow:\n  - {expired: 1}\n",
                Value,
                3,
                15,
                "`expired` takes true or false, not `1`",
            ),
            // not YAML, or not a policy's shape
            (
                "version: \"1\"\nallow: [\n",
                Yaml,
                3,
                1,
                "did not find expected node content",
            ),
            // At the end of a text without a final line break: the end of its last line.
            (
                "version: \"1\"\nallow: [",
                Yaml,
                2,
                9,
                "did not find expected node content",
            ),
            (
                "version: \"1\"\nallow:\n\t- mozilla: included\n",
                Yaml,
                3,
                1,
                "found character that cannot start any token",
            ),
            (
                "version: \"1\"\nforbid:\n  - comment: x\n fingerprints: y\n",
                Yaml,
                4,
                2,
                "did not find expected key",
            ),
            (
                "version: \"1\"\nallow: *roots\n",
                Yaml,
                2,
                8,
                "unknown anchor",
            ),
            (
                "- version: \"1\"\n",
                Yaml,
                1,
                1,
                "invalid type: sequence, expected a policy",
            ),
            (
                "just some text\n",
                Yaml,
                1,
                1,
                "invalid type: string \"just some text\", expected a policy",
            ),
            (
                "version: \"1\"\nallow:\n  mozilla: included\n",
                Yaml,
                3,
                3,
                "allow: invalid type: map, expected a list of entries",
            ),
            (
                "version: \"1\"\nallow:\n  - included\n",
                Yaml,
                3,
                5,
                "allow[0]: invalid type: string \"included\", expected an entry",
            ),
            (
                "version: \"1\"\nallow:\n  - comment: [a]\n    mozilla: included\n",
                Yaml,
                3,
                14,
                "invalid type: sequence, expected a string",
            ),
            (
                "version: \"1\"\nallow:\n  - mozilla: included\n---\nforbid: []\n",
                Yaml,
                4,
                1,
                "the file holds more than one YAML document",
            ),
            ("\u{1}", Yaml, 1, 1, "control characters are not allowed"),
        ]
    };

    #[test]
    fn broken_policies_give_one_error_naming_the_line() {
        let mut wrong = Vec::new();
        for &(yaml, kind, line, column, message) in BROKEN {
            let e = error(yaml);
            let shown = e.to_string();
            if (e.kind, e.line, e.column) != (kind, line, column) || !e.message.contains(message) {
                wrong.push(format!(
                    "{yaml:?}\n  expected {kind:?} {line}:{column} …{message}…\n  got      {:?} {shown}",
                    e.kind
                ));
            }
            assert_eq!(
                shown,
                format!("line {}, column {}: {}", e.line, e.column, e.message)
            );
            assert!(
                !shown.contains('\0') && !shown.contains(" at line "),
                "{shown}"
            );
        }
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    }

    #[test]
    fn error_text() {
        assert_eq!(
            error(BROKEN[13].0).to_string(),
            "line 5, column 15: forbid[0].fingerprints.sha256: a sha256 fingerprint is 64 hex \
             digits, this one has 63"
        );
        assert_eq!(
            error("allow:\n  - mozilla: included\n").to_string(),
            "line 1, column 1: the policy has no `version`; add `version: \"1\"`"
        );
        assert_eq!(
            error("version: \"1\"\nallow:\n  - mozilla: included\n    mozila: removed\n")
                .to_string(),
            "line 4, column 5: allow[0]: unknown key `mozila`; an entry takes fingerprints, \
             comment, subject, issuer, mozilla, expired and ca"
        );
    }

    /// Every valid policy of these tests, for the robustness loops.
    fn valid_policies() -> Vec<&'static str> {
        vec![PARANOIA_README, PARANOIA_HELP, PARANOIA_REPO, EXTENDED]
    }

    fn check_no_panic(text: &str) {
        match Policy::from_yaml(text) {
            Ok(p) => {
                let _ = p.describe(false);
            }
            Err(e) => {
                // libyaml also breaks lines at a lone CR, NEL, LS and PS.
                let breaks = ['\n', '\r', '\u{85}', '\u{2028}', '\u{2029}'];
                let lines = text.chars().filter(|c| breaks.contains(c)).count() + 1;
                assert!(
                    (1..=lines).contains(&e.line) && e.column >= 1,
                    "{e} outside the text:\n{text}"
                );
                assert!(!e.message.is_empty() && !e.message.contains('\0'), "{e}");
            }
        }
    }

    #[test]
    fn every_prefix_of_a_valid_policy_is_read_or_rejected_without_panic() {
        for text in valid_policies() {
            for (cut, _) in text.char_indices().chain([(text.len(), ' ')]) {
                check_no_panic(&text[..cut]);
            }
        }
    }

    #[test]
    fn edited_policies_are_read_or_rejected_without_panic() {
        // Every character of every valid policy deleted, and replaced by two of these in turn
        // (all of them at every position is 40 000 parses, too slow for a debug build).
        const EDITS: &[&str] = &[
            ":",
            "-",
            " ",
            "\n",
            "[",
            "]",
            "{",
            "}",
            "&a ",
            "*a",
            "!",
            "!!str ",
            "\"",
            "'",
            "\t",
            "#",
            "? ",
            "|",
            ">",
            ",",
            "<<: ",
            "---\n",
            "%YAML 1.1\n",
            "\u{feff}",
            "~",
        ];
        for text in valid_policies() {
            for (n, (at, c)) in text.char_indices().enumerate() {
                let (head, tail) = (&text[..at], &text[at + c.len_utf8()..]);
                for edit in ["", EDITS[n % EDITS.len()], EDITS[(n * 7 + 3) % EDITS.len()]] {
                    check_no_panic(&format!("{head}{edit}{tail}"));
                }
            }
        }
    }
}
