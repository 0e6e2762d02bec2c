//! `inspect -o sarif`: SARIF 2.1.0 shaped for GitHub code scanning.
//!
//! One run. `tool.driver` is rootsift with one rule per [`IssueKind`] (in [`IssueKind::ALL`]
//! order, so `ruleIndex` is stable). There is one result per certificate, issue and place it was
//! found; certificates without issues produce none. Each result has:
//!
//! - `ruleId`, `ruleIndex`, and `level` from the issue;
//! - `message.text`: the issue, the certificate's subject and SHA-256 (and the archive member,
//!   when there is one), ending with a period;
//! - one location whose `physicalLocation.artifactLocation.uri` is the file's path inside the
//!   target without the leading `/` (percent-encoded), relative to `uriBaseId` `ROOT`, which
//!   `run.originalUriBaseIds` resolves to the scanned directory (`file:///` when the target was a
//!   single file, whose location is its absolute path; `ROOT2`, `ROOT3`, … for further targets).
//!   A certificate inside an archive is reported on the outermost file, the full
//!   `/a.war!/b.jar!/c.der` path being a `logicalLocation`'s `fullyQualifiedName`. There is no
//!   `region`: a certificate has no line, and GitHub shows a region-less result on line 1.
//! - `partialFingerprints`: `primaryLocationLineHash` (the only one GitHub reads; a hash of rule,
//!   certificate and location plus an occurrence count, so an alert survives rescans and edits
//!   elsewhere in the file), `certificateSha256/v1` and `locationHash/v1`;
//! - `properties`: fingerprints, subject, issuer, serial number, validity, location, offset, parser.
//!
//! GitHub code scanning reads paths relative to the repository root: scan the checkout's root for
//! alerts to land on files. It rejects a run with more than 25,000 results ([`MAX_RESULTS`]); past
//! that the most serious results are kept, the rest counted in a warning notification of the
//! invocation and in `run.properties.resultsOmitted`.

use std::cmp::Reverse;
use std::collections::{BTreeMap, HashMap};
use std::io::{self, Write};

use serde_json::{Value, json};
use serde_sarif::sarif::{
    ArtifactLocation, Invocation, Location, LogicalLocation, Message, MultiformatMessageString,
    Notification, PhysicalLocation, PropertyBag, ReportingConfiguration, ReportingDescriptor,
    Result as SarifResult, ResultLevel, Run, Sarif, Tool, ToolComponent,
};
use sha2::{Digest, Sha256};

use super::InspectContext;
use super::inspect_context::{encode_uri_path, outer_path};
use crate::analyze::{Issue, IssueKind, Judged, Level};
use crate::cert::{Certificate, rfc3339};
use crate::record::Finding;

/// The `$schema` written: the SARIF 2.1.0 schema's address that GitHub's documentation uses.
pub const SCHEMA_URI: &str = "https://json.schemastore.org/sarif-2.1.0.json";

/// Most results in one run: GitHub code scanning rejects a run with more.
pub const MAX_RESULTS: usize = 25_000;

/// The project's address from `Cargo.toml` (`repository`, else `homepage`), if it has one.
const INFORMATION_URI: Option<&str> = {
    let repository = env!("CARGO_PKG_REPOSITORY");
    let homepage = env!("CARGO_PKG_HOMEPAGE");
    if !repository.is_empty() {
        Some(repository)
    } else if !homepage.is_empty() {
        Some(homepage)
    } else {
        None
    }
};

/// Writes the SARIF log of `judged` to `out`, pretty-printed, with a final newline.
pub fn write(
    out: &mut dyn Write,
    judged: &[Judged],
    context: &InspectContext<'_>,
) -> io::Result<()> {
    let log = document(judged, context);
    serde_json::to_writer_pretty(&mut *out, &log)?;
    out.write_all(b"\n")
}

/// The SARIF log of `judged`.
fn document(judged: &[Judged], context: &InspectContext<'_>) -> Sarif {
    let bases = Bases::new(judged);

    // (certificate, issue, finding) triples, in report order.
    let mut picks: Vec<(usize, usize, usize)> = Vec::new();
    for (j, entry) in judged.iter().enumerate() {
        for i in 0..entry.issues.len() {
            picks.extend((0..entry.findings.len()).map(|f| (j, i, f)));
        }
    }
    let omitted = picks.len().saturating_sub(MAX_RESULTS);
    if omitted > 0 {
        // Keep the most serious (a stable sort keeps report order within a level), then restore
        // report order.
        picks.sort_by_key(|&(j, i, _)| Reverse(judged[j].issues[i].level));
        picks.truncate(MAX_RESULTS);
        picks.sort_unstable();
    }

    // How many earlier findings of the same certificate share each finding's location (1-based).
    let mut occurrences: HashMap<usize, Vec<u32>> = HashMap::new();
    let mut results = Vec::with_capacity(picks.len());
    for (j, i, f) in picks {
        let entry = &judged[j];
        let counts = occurrences
            .entry(j)
            .or_insert_with(|| occurrence_counts(&entry.findings));
        results.push(result(
            &entry.cert,
            &entry.issues[i],
            &entry.findings[f],
            counts[f],
            &bases,
        ));
    }

    let mut invocation = Invocation::builder().execution_successful(true).build();
    let mut run_properties = BTreeMap::from([
        ("clock".to_string(), json!(rfc3339(context.now))),
        (
            "mozillaData".to_string(),
            json!({"date": context.mozilla_date, "source": context.mozilla_source}),
        ),
        ("targets".to_string(), json!(context.targets)),
    ]);
    if omitted > 0 {
        let text = format!(
            "{omitted} results were left out: GitHub code scanning rejects a run with more than \
             {MAX_RESULTS} results, so the most serious {MAX_RESULTS} were kept."
        );
        invocation.tool_execution_notifications = Some(vec![
            Notification::builder()
                .message(text_message(text))
                .level(json!("warning"))
                .build(),
        ]);
        run_properties.insert("resultsOmitted".to_string(), json!(omitted));
    }

    let mut driver = ToolComponent::builder()
        .name("rootsift")
        .version(env!("CARGO_PKG_VERSION"))
        .semantic_version(env!("CARGO_PKG_VERSION"))
        .rules(IssueKind::ALL.iter().map(|&k| rule(k)).collect::<Vec<_>>())
        .build();
    driver.information_uri = INFORMATION_URI.map(str::to_string);

    let run = Run::builder()
        .tool(Tool::builder().driver(driver).build())
        .invocations(vec![invocation])
        .original_uri_base_ids(bases.original_uri_base_ids(context))
        .results(results)
        .properties(property_bag(run_properties))
        .build();
    Sarif::builder()
        .schema(SCHEMA_URI)
        .version(json!("2.1.0"))
        .runs(vec![run])
        .build()
}

/// For each finding, 1 + how many earlier findings have the same location.
fn occurrence_counts(findings: &[Finding]) -> Vec<u32> {
    let mut seen: HashMap<&str, u32> = HashMap::new();
    findings
        .iter()
        .map(|f| {
            let n = seen.entry(f.location.as_str()).or_insert(0);
            *n += 1;
            *n
        })
        .collect()
}

fn result(
    cert: &Certificate,
    issue: &Issue,
    finding: &Finding,
    occurrence: u32,
    bases: &Bases<'_>,
) -> SarifResult {
    let kind = issue.kind;
    let rule_index = IssueKind::ALL
        .iter()
        .position(|&k| k == kind)
        .unwrap_or_default();
    let fingerprint = cert.sha256_hex();
    let location = &finding.location;
    let member = location.split_once("!/").map(|(_, member)| member);

    let subject = if cert.subject.is_empty() {
        "(empty subject)"
    } else {
        &cert.subject
    };
    let mut text = capitalized(issue.message.trim().trim_end_matches('.'));
    text.push_str(&format!(": {subject} (SHA-256 {fingerprint})"));
    if let Some(member) = member {
        text.push_str(&format!(", in the archive member {member}"));
    }
    text.push('.');

    let outer = outer_path(location);
    let uri = encode_uri_path(outer.strip_prefix('/').unwrap_or(outer));
    let physical = PhysicalLocation::builder()
        .artifact_location(
            ArtifactLocation::builder()
                .uri(uri)
                .uri_base_id(bases.id_of(&finding.target))
                .build(),
        )
        .build();
    let mut sarif_location = Location::builder().physical_location(physical).build();
    if member.is_some() {
        let innermost = location.rsplit("!/").next().unwrap_or(location);
        sarif_location.logical_locations = Some(vec![
            LogicalLocation::builder()
                .name(innermost)
                .fully_qualified_name(location.as_str())
                .build(),
        ]);
    }

    let line_hash = hex::encode(&sha256_of(&[kind.as_str(), &fingerprint, location])[..8]);
    let partial_fingerprints = BTreeMap::from([
        (
            "primaryLocationLineHash".to_string(),
            format!("{line_hash}:{occurrence}"),
        ),
        ("certificateSha256/v1".to_string(), fingerprint.clone()),
        (
            "locationHash/v1".to_string(),
            hex::encode(sha256_of(&[location])),
        ),
    ]);
    let properties = BTreeMap::from([
        ("fingerprintSHA256".to_string(), json!(fingerprint)),
        ("fingerprintSHA1".to_string(), json!(cert.sha1_hex())),
        ("subject".to_string(), json!(cert.subject)),
        ("issuer".to_string(), json!(cert.issuer)),
        ("serialNumber".to_string(), json!(cert.serial)),
        ("notBefore".to_string(), json!(rfc3339(cert.not_before))),
        ("notAfter".to_string(), json!(rfc3339(cert.not_after))),
        ("location".to_string(), json!(location)),
        ("offset".to_string(), json!(finding.offset)),
        ("parser".to_string(), json!(finding.parser.as_str())),
    ]);

    SarifResult::builder()
        .rule_id(kind.as_str())
        .rule_index(rule_index as i64)
        .level(match issue.level {
            Level::Error => ResultLevel::Error,
            Level::Warning => ResultLevel::Warning,
        })
        .message(text_message(text))
        .locations(vec![sarif_location])
        .partial_fingerprints(partial_fingerprints)
        .properties(property_bag(properties))
        .build()
}

/// The `uriBaseId`s: one per target that findings were made under, in order of first appearance.
struct Bases<'a> {
    /// (resolved target, id, base URI if the target is a filesystem path, target was one file).
    entries: Vec<(&'a str, String, Option<String>, bool)>,
}

impl<'a> Bases<'a> {
    fn new(judged: &'a [Judged]) -> Bases<'a> {
        // Each resolved target, and whether every location under it is the target itself (the
        // mark of a single-file target, whose location is its own absolute path).
        let mut order: Vec<&'a str> = Vec::new();
        let mut single_file: HashMap<&'a str, bool> = HashMap::new();
        for finding in judged.iter().flat_map(|j| &j.findings) {
            let target: &str = &finding.target;
            let is_itself = outer_path(&finding.location) == target;
            match single_file.get_mut(target) {
                Some(all) => *all &= is_itself,
                None => {
                    order.push(target);
                    single_file.insert(target, is_itself);
                }
            }
        }
        let entries = order
            .into_iter()
            .enumerate()
            .map(|(n, target)| {
                let file = single_file[target];
                (target, base_id(n), base_uri(target, file), file)
            })
            .collect();
        Bases { entries }
    }

    fn id_of(&self, target: &str) -> String {
        self.entries
            .iter()
            .find(|e| e.0 == target)
            .map_or_else(|| base_id(0), |e| e.1.clone())
    }

    fn original_uri_base_ids(
        &self,
        context: &InspectContext<'_>,
    ) -> BTreeMap<String, ArtifactLocation> {
        let mut map = BTreeMap::new();
        for (target, id, uri, file) in &self.entries {
            let text = if *file {
                format!("The filesystem root: the scanned target was the file {target}.")
            } else if uri.is_some() {
                format!("The scanned directory {target}.")
            } else {
                format!("The scanned target {target}.")
            };
            let mut base = ArtifactLocation::builder()
                .description(text_message(text))
                .build();
            base.uri = uri.clone();
            map.insert(id.clone(), base);
        }
        if map.is_empty() {
            // Nothing found: describe the targets as given, for the record.
            let text = match context.targets {
                [] => "No target was scanned.".to_string(),
                [one] => format!("The scanned target {one}."),
                many => format!("The scanned targets {}.", many.join(", ")),
            };
            let mut base = ArtifactLocation::builder()
                .description(text_message(text))
                .build();
            if let [one] = context.targets
                && one.starts_with('/')
            {
                base.uri = base_uri(one, false);
            }
            map.insert(base_id(0), base);
        }
        map
    }
}

fn base_id(n: usize) -> String {
    match n {
        0 => "ROOT".to_string(),
        n => format!("ROOT{}", n + 1),
    }
}

/// The `file:` URI, ending with `/`, that locations under `target` are relative to.
fn base_uri(target: &str, single_file: bool) -> Option<String> {
    if !target.starts_with('/') {
        return None;
    }
    if single_file {
        return Some("file:///".to_string());
    }
    let mut uri = format!("file://{}", encode_uri_path(target));
    if !uri.ends_with('/') {
        uri.push('/');
    }
    Some(uri)
}

fn rule(kind: IssueKind) -> ReportingDescriptor {
    let level = kind.default_level().as_str();
    let (name, detail, help) = rule_text(kind);
    let full = format!("{} {detail}", kind.description());
    let help_text = format!("{full}\n\n{help}");
    let help_markdown = format!("{full}\n\n**What to do:** {help}");
    let properties = BTreeMap::from([
        ("precision".to_string(), json!("very-high")),
        ("problem.severity".to_string(), json!(level)),
    ]);
    let mut bag = property_bag(properties);
    bag.tags = Some(vec!["security".to_string(), "certificate".to_string()]);
    ReportingDescriptor::builder()
        .id(kind.as_str())
        .name(name)
        .short_description(
            MultiformatMessageString::builder()
                .text(kind.description())
                .build(),
        )
        .full_description(MultiformatMessageString::builder().text(full).build())
        .default_configuration(ReportingConfiguration {
            level: Some(json!(level)),
            ..Default::default()
        })
        .help(
            MultiformatMessageString::builder()
                .text(help_text)
                .markdown(help_markdown)
                .build(),
        )
        .properties(bag)
        .build()
}

/// A rule's name, what exactly is checked, and what to do about it.
fn rule_text(kind: IssueKind) -> (&'static str, &'static str, &'static str) {
    match kind {
        IssueKind::Expired => (
            "ExpiredCertificate",
            "rootsift compares notAfter with the clock of the run.",
            "Replace the certificate with a renewed one, or delete it if nothing uses it: \
             software that still trusts or presents it fails, or keeps trusting a key that is no \
             longer looked after.",
        ),
        IssueKind::NotYetValid => (
            "NotYetValidCertificate",
            "rootsift compares notBefore with the clock of the run.",
            "Check the clock of the machine that issued the certificate and of the one inspecting \
             it; reissue the certificate with a correct validity period.",
        ),
        IssueKind::ExpiringSoon => (
            "CertificateExpiringSoon",
            "The window is the --expiry-window of the run.",
            "Renew the certificate and deploy the new one before the old one expires.",
        ),
        IssueKind::RemovedFromMozilla => (
            "RootRemovedFromMozilla",
            "rootsift checks the certificate's SHA-256 against the history of Mozilla's root \
             store; removals follow distrust for mis-issuance, compromise or retirement.",
            "Remove the root from the bundle or trust store, or update the package that ships \
             it (ca-certificates, certifi, a JDK cacerts).",
        ),
        IssueKind::WeakKey => (
            "WeakKey",
            "DSA keys are warnings; short RSA and EC keys are errors.",
            "Reissue the certificate with an RSA key of at least 2048 bits or an EC key of at \
             least 256 bits, and remove the old one.",
        ),
        IssueKind::WeakSignature => (
            "WeakSignatureAlgorithm",
            "MD2 and MD5 are errors; SHA-1 is a warning, and is not judged on a self-signed \
             certificate, whose own signature no verifier checks.",
            "Reissue the certificate signed with SHA-256 or stronger.",
        ),
        IssueKind::NotACa => (
            "NonCaInTrustStore",
            "A location counts as a trust store when it is a system CA bundle or directory, or a \
             Java or Python root store; a self-signed version 1 certificate counts as a CA.",
            "Move the certificate out of the trust store, or replace it with the CA certificate \
             that was meant to be there.",
        ),
        IssueKind::UnknownRoot => (
            "UnknownRoot",
            "Private roots are common inside organisations; an unexpected one can let its owner \
             intercept TLS.",
            "Confirm that the root is yours and is meant to be trusted here; remove it otherwise.",
        ),
    }
}

fn text_message(text: String) -> Message {
    Message::builder().text(text).build()
}

fn property_bag(properties: BTreeMap<String, Value>) -> PropertyBag {
    PropertyBag::builder()
        .additional_properties(properties)
        .build()
}

/// SHA-256 over `parts`, each followed by a NUL byte so that no two lists of parts collide.
fn sha256_of(parts: &[&str]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part.as_bytes());
        hasher.update([0]);
    }
    hasher.finalize().into()
}

fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}
