//! The inspect reports in SARIF and CycloneDX, built from real certificates (the fixture tree made
//! by `tests/fixtures/make.sh`, scanned through the library) with hand-made issues, checked for
//! concrete values and validated by official tools:
//!
//! - CycloneDX against the official 1.6 JSON schema, strictly (cyclonedx-python-lib);
//! - SARIF against the official 2.1.0 JSON schema (python's jsonschema), against GitHub code
//!   scanning's ingestion rules (Microsoft's SARIF multitool, `--rule-kind Gh`), and against
//!   GitHub's documented required properties and limits (here, in Rust).
//!
//! A missing validator fails the test with the command that installs it
//! (`bash tests/schemas/install.sh`); nothing is skipped.

mod common;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, OnceLock};

use regex::Regex;
use rootsift::analyze::{Issue, IssueKind, Judged, Level};
use rootsift::cert::rfc3339;
use rootsift::record::{Finding, Record};
use rootsift::report::{InspectContext, cyclonedx, sarif};
use rootsift::scan::{self, Progress, ScanOptions};
use rootsift::source::Target;
use serde_json::Value;

/// The clock of every document here: 2026-01-01T00:00:00Z.
const NOW: i64 = 1_767_225_600;

const INSTALL: &str = "bash tests/schemas/install.sh";

// ---------------------------------------------------------------------------------------------
// Material: the fixture tree's certificates, grouped as inspect groups them, with issues.

/// The fixture tree (canonical path) and every certificate finding in it, sorted by location.
fn fixture_findings() -> &'static (String, Vec<Finding>) {
    static FINDINGS: OnceLock<(String, Vec<Finding>)> = OnceLock::new();
    FINDINGS.get_or_init(|| {
        let tree = common::fixtures().join("tree");
        let target = Target::resolve(tree.to_str().expect("UTF-8 fixture path"))
            .expect("the fixture tree resolves");
        let root = target.name();
        let mut findings = Vec::new();
        scan::scan(
            &[target],
            &ScanOptions::default(),
            &Progress::default(),
            |record| {
                if let Record::Certificate(f) = record {
                    findings.push(f);
                }
            },
        );
        findings.sort_by(|a, b| (&a.location, a.offset).cmp(&(&b.location, b.offset)));
        assert!(
            findings.len() > 100,
            "the fixture tree holds hundreds of certificates"
        );
        (root, findings)
    })
}

/// Findings grouped by certificate, in first-seen order, without issues.
fn group(findings: &[Finding]) -> Vec<Judged> {
    let mut index: HashMap<[u8; 32], usize> = HashMap::new();
    let mut judged: Vec<Judged> = Vec::new();
    for f in findings {
        match index.get(&f.cert.sha256) {
            Some(&i) => judged[i].findings.push(f.clone()),
            None => {
                index.insert(f.cert.sha256, judged.len());
                judged.push(Judged {
                    cert: Arc::clone(&f.cert),
                    findings: vec![f.clone()],
                    issues: Vec::new(),
                });
            }
        }
    }
    judged
}

fn issue(level: Level, kind: IssueKind, message: &str) -> Issue {
    Issue {
        level,
        kind,
        message: message.to_string(),
    }
}

fn judged_at<'a>(judged: &'a mut [Judged], location: &str) -> &'a mut Judged {
    judged
        .iter_mut()
        .find(|j| j.findings.iter().any(|f| f.location == location))
        .unwrap_or_else(|| panic!("no certificate at {location} in the fixture tree"))
}

/// The fixture tree judged by hand: a certificate deep in an archive is expired and an unknown
/// root, an EC leaf expires soon, and the certificate found in the most places was removed from
/// Mozilla's store. Everything else has no issue.
fn fixture_judged() -> Vec<Judged> {
    let (_, findings) = fixture_findings();
    let mut judged = group(findings);
    judged_at(
        &mut judged,
        "/opt/app.war!/WEB-INF/lib/inner.jar!/certs/ca.der",
    )
    .issues = vec![
        issue(
            Level::Error,
            IssueKind::Expired,
            "expired on 2020-01-01T00:00:00Z, 6 years ago",
        ),
        issue(
            Level::Warning,
            IssueKind::UnknownRoot,
            "a self-signed CA that Mozilla's root store has never included (a private or unknown root)",
        ),
    ];
    judged_at(&mut judged, "/etc/pki/fixtures/leaf-ec.pem").issues = vec![issue(
        Level::Warning,
        IssueKind::ExpiringSoon,
        "expires on 2026-01-20T00:00:00Z, in 19 days",
    )];
    let most = judged
        .iter_mut()
        .filter(|j| j.issues.is_empty())
        .max_by_key(|j| j.findings.len())
        .expect("certificates without issues");
    assert!(
        most.findings.len() >= 2,
        "some certificate is in several places"
    );
    most.issues = vec![issue(
        Level::Error,
        IssueKind::RemovedFromMozilla,
        "removed from Mozilla's root store (2024-06-01)",
    )];
    judged
}

fn context<'a>(targets: &'a [String]) -> InspectContext<'a> {
    InspectContext {
        targets,
        now: NOW,
        mozilla_date: "2025-11-01",
        mozilla_source: "embedded",
    }
}

fn sarif_bytes(judged: &[Judged], context: &InspectContext<'_>) -> Vec<u8> {
    let mut out = Vec::new();
    sarif::write(&mut out, judged, context).expect("SARIF written");
    out
}

fn cyclonedx_bytes(judged: &[Judged], context: &InspectContext<'_>) -> Vec<u8> {
    let mut out = Vec::new();
    cyclonedx::write(&mut out, judged, context).expect("CycloneDX written");
    out
}

fn parse(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes).expect("the output is JSON")
}

fn text<'a>(value: &'a Value, what: &str) -> &'a str {
    value
        .as_str()
        .unwrap_or_else(|| panic!("{what} is not a string: {value}"))
}

fn array<'a>(value: &'a Value, what: &str) -> &'a [Value] {
    value
        .as_array()
        .unwrap_or_else(|| panic!("{what} is not an array: {value}"))
}

// ---------------------------------------------------------------------------------------------
// Validators.

fn tools_dir() -> PathBuf {
    match std::env::var_os("ROOTSIFT_SCHEMA_TOOLS") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => Path::new(env!("CARGO_MANIFEST_DIR")).join("target/schema-tools"),
    }
}

fn script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/schemas")
        .join(name)
}

fn missing_tool(what: &str) -> ! {
    panic!(
        "{what}\nInstall the schema validators first (PyPI cyclonedx-python-lib[json-validation]; npm \
         @microsoft/jest-sarif and @microsoft/sarif-multitool-linux into {}):\n\n    {INSTALL}\n",
        tools_dir().display()
    )
}

/// Runs `python3 SCRIPT ARGS…`; panics with the validator's complaints unless it exits 0.
fn run_python(script_name: &str, args: &[&Path], what: &str) {
    let output = Command::new("python3")
        .arg(script(script_name))
        .args(args)
        .output()
        .unwrap_or_else(|e| missing_tool(&format!("cannot run python3 ({e})")));
    let stderr = String::from_utf8_lossy(&output.stderr);
    match output.status.code() {
        Some(0) => {}
        Some(3) => missing_tool(&stderr),
        _ => panic!("{what} is not valid:\n{stderr}"),
    }
}

fn validate_cyclonedx(path: &Path) {
    run_python(
        "validate_cyclonedx.py",
        &[path],
        &format!("{} (CycloneDX 1.6, strict)", path.display()),
    );
}

fn sarif_schema() -> PathBuf {
    let schema =
        tools_dir().join("node_modules/@microsoft/jest-sarif/lib/schemas/sarif-2.1.0-rtm.5.json");
    if !schema.is_file() {
        missing_tool(&format!(
            "the SARIF 2.1.0 JSON schema is missing: no {}",
            schema.display()
        ));
    }
    schema
}

fn multitool() -> PathBuf {
    let tool = tools_dir().join("node_modules/@microsoft/sarif-multitool-linux/Sarif.Multitool");
    if !tool.is_file() {
        missing_tool(&format!(
            "the SARIF multitool is missing: no {}",
            tool.display()
        ));
    }
    // npm may have skipped the package's postinstall `chmod u+x`.
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&tool)
        .expect("multitool metadata")
        .permissions()
        .mode();
    if mode & 0o100 == 0 {
        std::fs::set_permissions(&tool, std::fs::Permissions::from_mode(mode | 0o100))
            .expect("make the multitool executable");
    }
    tool
}

/// The official SARIF 2.1.0 schema, then GitHub's ingestion rules; panics on any error.
fn validate_sarif(path: &Path) {
    let schema = sarif_schema();
    run_python(
        "validate_sarif.py",
        &[&schema, path],
        &format!("{} (SARIF 2.1.0 schema)", path.display()),
    );
    let problems = multitool_problems(path);
    assert!(
        problems.is_empty(),
        "{}: the SARIF multitool (GitHub ingestion rules and SARIF rules) reports:\n{}",
        path.display(),
        problems.join("\n")
    );
}

/// The multitool's results for `path` that are errors, or warnings not accepted below.
fn multitool_problems(path: &Path) -> Vec<String> {
    // Warnings that are the nature of the data, not defects:
    // - SARIF2005 asks for tool.driver.informationUri, written once Cargo.toml has `repository`;
    // - SARIF2017 asks for a region: a certificate has no line, and GitHub shows a region-less
    //   result on line 1 (a byte region would be the member's offset, not the outer file's).
    const ACCEPTED_WARNINGS: [&str; 2] = ["SARIF2005", "SARIF2017"];
    let out_dir = tempfile::tempdir().expect("temporary directory");
    let report = out_dir.path().join("validation.sarif");
    let output = Command::new(multitool())
        .args(["validate", "--rule-kind", "Gh;Sarif", "-o"])
        .arg(&report)
        .arg(path)
        .env("DOTNET_CLI_TELEMETRY_OPTOUT", "1")
        .output()
        .unwrap_or_else(|e| missing_tool(&format!("cannot run the SARIF multitool ({e})")));
    let log = std::fs::read(&report).unwrap_or_else(|e| {
        panic!(
            "the SARIF multitool wrote no report ({e}); it said:\n{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    });
    let log = parse(&log);
    let run = &log["runs"][0];
    // The multitool's own rules, for default levels.
    let mut default_levels: HashMap<String, String> = HashMap::new();
    for component in std::iter::once(&run["tool"]["driver"])
        .chain(run["tool"]["extensions"].as_array().into_iter().flatten())
    {
        for rule in component["rules"].as_array().into_iter().flatten() {
            if let (Some(id), Some(level)) = (
                rule["id"].as_str(),
                rule["defaultConfiguration"]["level"].as_str(),
            ) {
                default_levels.insert(id.to_string(), level.to_string());
            }
        }
    }
    let mut problems = Vec::new();
    for result in array(&run["results"], "the multitool's results") {
        let id = result["ruleId"].as_str().unwrap_or("?");
        let level = result["level"]
            .as_str()
            .map(str::to_string)
            .or_else(|| default_levels.get(id).cloned())
            .unwrap_or_else(|| "warning".to_string());
        if level == "note" || level == "none" {
            continue;
        }
        if level == "warning" && ACCEPTED_WARNINGS.contains(&id) {
            continue;
        }
        problems.push(format!("{level} {id}: {}", result["message"]));
    }
    for notification in run["invocations"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|i| {
            i["toolExecutionNotifications"]
                .as_array()
                .into_iter()
                .flatten()
        })
    {
        if notification["level"] == "error" {
            problems.push(format!("tool error: {}", notification["message"]));
        }
    }
    problems
}

/// GitHub code scanning's required properties and limits, from its "SARIF support for code
/// scanning" documentation.
fn check_github_requirements(doc: &Value) {
    assert!(
        !text(&doc["$schema"], "$schema").is_empty(),
        "$schema is required"
    );
    assert_eq!(doc["version"], "2.1.0", "only SARIF 2.1.0 is accepted");
    let runs = array(&doc["runs"], "runs");
    assert!(!runs.is_empty() && runs.len() <= 20, "1 to 20 runs");
    for run in runs {
        let driver = &run["tool"]["driver"];
        assert!(!text(&driver["name"], "tool.driver.name").is_empty());
        let rules = array(&driver["rules"], "tool.driver.rules");
        assert!(rules.len() <= 25_000, "at most 25,000 rules per run");
        let mut ids = BTreeSet::new();
        for rule in rules {
            let id = text(&rule["id"], "rule id");
            assert!(
                !id.is_empty() && ids.insert(id),
                "rule ids are unique and non-empty"
            );
            if let Some(name) = rule["name"].as_str() {
                assert!(name.chars().count() <= 255, "rule name over 255 characters");
            }
            for field in ["shortDescription", "fullDescription"] {
                let t = text(&rule[field]["text"], field);
                assert!(
                    !t.is_empty() && t.chars().count() <= 1024,
                    "{id}: {field}.text is required, at most 1024 characters"
                );
            }
            assert!(!text(&rule["help"]["text"], "help.text").is_empty());
            if let Some(level) = rule["defaultConfiguration"]["level"].as_str() {
                assert!(["note", "warning", "error"].contains(&level));
            }
            if let Some(tags) = rule["properties"]["tags"].as_array() {
                assert!(tags.len() <= 20, "at most 20 tags per rule");
            }
        }
        let results = array(&run["results"], "results (required, even when empty)");
        assert!(results.len() <= 25_000, "at most 25,000 results per run");
        for result in results {
            let rule_id = text(&result["ruleId"], "ruleId");
            assert!(ids.contains(rule_id), "ruleId {rule_id} names a rule");
            if let Some(index) = result["ruleIndex"].as_u64() {
                assert_eq!(
                    rules[index as usize]["id"], rule_id,
                    "ruleIndex agrees with ruleId"
                );
            }
            assert!(!text(&result["message"]["text"], "message.text").is_empty());
            let locations = array(&result["locations"], "locations");
            assert!(
                (1..=10).contains(&locations.len()),
                "1 to 10 locations per result"
            );
            for location in locations {
                let uri = text(
                    &location["physicalLocation"]["artifactLocation"]["uri"],
                    "physicalLocation.artifactLocation.uri",
                );
                assert!(!uri.is_empty());
            }
            assert!(
                !text(
                    &result["partialFingerprints"]["primaryLocationLineHash"],
                    "partialFingerprints.primaryLocationLineHash"
                )
                .is_empty()
            );
        }
    }
}

/// Writes a document to validate; with `ROOTSIFT_KEEP_REPORTS=DIR`, keeps a copy in DIR to look at.
fn write_temp(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).expect("write the document");
    if let Some(keep) = std::env::var_os("ROOTSIFT_KEEP_REPORTS") {
        std::fs::create_dir_all(&keep).expect("create $ROOTSIFT_KEEP_REPORTS");
        std::fs::write(Path::new(&keep).join(name), bytes).expect("keep the document");
    }
    path
}

// ---------------------------------------------------------------------------------------------
// SARIF.

fn expected_level(kind: IssueKind) -> &'static str {
    match kind {
        IssueKind::ExpiringSoon | IssueKind::NotACa | IssueKind::UnknownRoot => "warning",
        _ => "error",
    }
}

#[test]
fn sarif_for_the_fixture_tree() {
    let (root, _) = fixture_findings();
    let judged = fixture_judged();
    let targets = vec![root.clone()];
    let context = context(&targets);
    let bytes = sarif_bytes(&judged, &context);
    assert_eq!(
        bytes,
        sarif_bytes(&judged, &context),
        "the same input gives the same SARIF"
    );
    let doc = parse(&bytes);

    assert_eq!(doc["$schema"], sarif::SCHEMA_URI);
    assert_eq!(doc["version"], "2.1.0");
    let runs = array(&doc["runs"], "runs");
    assert_eq!(runs.len(), 1, "one run");
    let run = &runs[0];
    let driver = &run["tool"]["driver"];
    assert_eq!(driver["name"], "rootsift");
    assert_eq!(driver["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(driver["semanticVersion"], env!("CARGO_PKG_VERSION"));

    // One rule per kind, in IssueKind::ALL order.
    let rules = array(&driver["rules"], "rules");
    let ids: Vec<&str> = rules.iter().map(|r| text(&r["id"], "rule id")).collect();
    assert_eq!(ids, IssueKind::ALL.map(IssueKind::as_str));
    for (rule, kind) in rules.iter().zip(IssueKind::ALL) {
        assert_eq!(rule["shortDescription"]["text"], kind.description());
        assert!(
            text(&rule["fullDescription"]["text"], "fullDescription")
                .starts_with(kind.description())
        );
        assert_eq!(rule["defaultConfiguration"]["level"], expected_level(kind));
        assert!(!text(&rule["name"], "name").is_empty());
        assert!(!text(&rule["help"]["text"], "help").is_empty());
    }

    // ROOT is the scanned directory.
    assert_eq!(
        run["originalUriBaseIds"]["ROOT"]["uri"],
        format!("file://{root}/")
    );
    assert_eq!(run["properties"]["clock"], rfc3339(NOW));
    assert_eq!(run["properties"]["mozillaData"]["date"], "2025-11-01");

    // One result per certificate × issue × location, and nothing for certificates without issues.
    let mut expected: BTreeMap<(String, String, String), usize> = BTreeMap::new();
    let mut certs = HashMap::new();
    for j in &judged {
        certs.insert(j.cert.sha256_hex(), j);
        for i in &j.issues {
            for f in &j.findings {
                *expected
                    .entry((
                        i.kind.as_str().to_string(),
                        j.cert.sha256_hex(),
                        f.location.clone(),
                    ))
                    .or_default() += 1;
            }
        }
    }
    let results = array(&run["results"], "results");
    let mut found: BTreeMap<(String, String, String), usize> = BTreeMap::new();
    let mut fingerprints = BTreeSet::new();
    let mut archive_results = 0;
    let line_hash_shape = Regex::new("^[0-9a-f]{16}:[1-9][0-9]*$").unwrap();
    for result in results {
        let rule_id = text(&result["ruleId"], "ruleId");
        let index = result["ruleIndex"].as_u64().expect("ruleIndex") as usize;
        assert_eq!(IssueKind::ALL[index].as_str(), rule_id);
        let props = &result["properties"];
        let sha = text(&props["fingerprintSHA256"], "fingerprintSHA256");
        let location = text(&props["location"], "location");
        *found
            .entry((rule_id.to_string(), sha.to_string(), location.to_string()))
            .or_default() += 1;

        let j = certs[sha];
        let issue = j
            .issues
            .iter()
            .find(|i| i.kind.as_str() == rule_id)
            .expect("the issue");
        assert_eq!(result["level"], issue.level.as_str());
        let message = text(&result["message"]["text"], "message");
        assert!(
            message.contains(&j.cert.subject),
            "{message}: names the subject"
        );
        assert!(message.contains(sha), "{message}: names the SHA-256");
        assert!(message.ends_with('.'), "{message}: a sentence");
        assert_eq!(props["subject"], j.cert.subject);
        assert_eq!(props["issuer"], j.cert.issuer);
        assert_eq!(props["notAfter"], rfc3339(j.cert.not_after));

        let locations = array(&result["locations"], "locations");
        assert_eq!(locations.len(), 1);
        let artifact = &locations[0]["physicalLocation"]["artifactLocation"];
        let outer = location.split("!/").next().unwrap();
        assert_eq!(
            artifact["uri"],
            &outer[1..],
            "the outer file, without the leading slash"
        );
        assert!(!text(&artifact["uri"], "uri").starts_with('/'));
        assert_eq!(artifact["uriBaseId"], "ROOT");
        if location.contains("!/") {
            archive_results += 1;
            let logical = array(&locations[0]["logicalLocations"], "logicalLocations");
            assert_eq!(logical[0]["fullyQualifiedName"], location);
            assert!(message.contains(location.split_once("!/").unwrap().1));
        } else {
            assert!(locations[0].get("logicalLocations").is_none());
        }

        let partial = &result["partialFingerprints"];
        assert_eq!(partial["certificateSha256/v1"], sha);
        let line_hash = text(
            &partial["primaryLocationLineHash"],
            "primaryLocationLineHash",
        );
        assert!(line_hash_shape.is_match(line_hash), "{line_hash}");
        assert!(
            fingerprints.insert((rule_id, text(&artifact["uri"], "uri"), line_hash)),
            "GitHub tells results apart by rule, file and primaryLocationLineHash: {rule_id} {location}"
        );
    }
    assert_eq!(found, expected);
    assert!(
        archive_results >= 2,
        "the expired root is inside a JAR inside a WAR, twice over"
    );
    assert!(results.iter().any(|r| r["level"] == "error"));
    assert!(results.iter().any(|r| r["level"] == "warning"));

    check_github_requirements(&doc);
    let dir = tempfile::tempdir().expect("temporary directory");
    validate_sarif(&write_temp(dir.path(), "fixtures.sarif", &bytes));
}

#[test]
fn sarif_for_file_targets_several_targets_and_odd_file_names() {
    let (root, findings) = fixture_findings();
    let der = findings
        .iter()
        .find(|f| f.location == "/etc/pki/der/cert.der")
        .expect("the DER fixture");
    let mut in_dir = der.clone();
    in_dir.location = "/srv/odd dir/100%#ü:é?.pem".to_string();
    // The same certificate scanned as a single-file target: its location is its absolute path.
    let file_path = format!("{root}/etc/pki/der/cert.der");
    let mut as_file = der.clone();
    as_file.target = Arc::from(file_path.as_str());
    as_file.location = file_path.clone();
    let mut member = der.clone();
    member.target = Arc::from(file_path.as_str());
    member.location = format!("{file_path}!/nested/inner.der");
    let judged = vec![Judged {
        cert: Arc::clone(&der.cert),
        findings: vec![in_dir, as_file, member],
        issues: vec![issue(
            Level::Warning,
            IssueKind::NotACa,
            "not a CA certificate",
        )],
    }];
    let targets = vec![root.clone(), file_path.clone()];
    let bytes = sarif_bytes(&judged, &context(&targets));
    let doc = parse(&bytes);
    let run = &doc["runs"][0];
    assert_eq!(
        run["originalUriBaseIds"]["ROOT"]["uri"],
        format!("file://{root}/")
    );
    assert_eq!(run["originalUriBaseIds"]["ROOT2"]["uri"], "file:///");
    let results = array(&run["results"], "results");
    assert_eq!(results.len(), 3);
    let artifact = |i: usize| &results[i]["locations"][0]["physicalLocation"]["artifactLocation"];
    assert_eq!(
        artifact(0)["uri"],
        "srv/odd%20dir/100%25%23%C3%BC%3A%C3%A9%3F.pem"
    );
    assert_eq!(artifact(0)["uriBaseId"], "ROOT");
    assert_eq!(artifact(1)["uri"], file_path[1..]);
    assert_eq!(artifact(1)["uriBaseId"], "ROOT2");
    assert_eq!(artifact(2)["uri"], file_path[1..]);
    assert_eq!(
        results[2]["locations"][0]["logicalLocations"][0]["fullyQualifiedName"],
        format!("{file_path}!/nested/inner.der")
    );

    check_github_requirements(&doc);
    let dir = tempfile::tempdir().expect("temporary directory");
    validate_sarif(&write_temp(dir.path(), "odd.sarif", &bytes));
}

#[test]
fn sarif_keeps_the_most_serious_results_within_githubs_limit() {
    let (_, findings) = fixture_findings();
    let template = &findings[0];
    let many: Vec<Finding> = (0..sarif::MAX_RESULTS + 10)
        .map(|n| {
            let mut f = template.clone();
            f.location = format!("/srv/copies/{n}.pem");
            f
        })
        .collect();
    let other = findings
        .iter()
        .find(|f| f.cert.sha256 != template.cert.sha256)
        .expect("a second certificate");
    let judged = vec![
        Judged {
            cert: Arc::clone(&template.cert),
            findings: many,
            issues: vec![issue(
                Level::Warning,
                IssueKind::ExpiringSoon,
                "expires soon",
            )],
        },
        Judged {
            cert: Arc::clone(&other.cert),
            findings: vec![other.clone()],
            issues: vec![issue(Level::Error, IssueKind::Expired, "expired")],
        },
    ];
    let targets = vec!["/".to_string()];
    let doc = parse(&sarif_bytes(&judged, &context(&targets)));
    let run = &doc["runs"][0];
    let results = array(&run["results"], "results");
    assert_eq!(results.len(), sarif::MAX_RESULTS);
    assert!(
        results.iter().any(|r| r["ruleId"] == "expired"),
        "the error is kept over warnings"
    );
    assert_eq!(run["properties"]["resultsOmitted"], 11);
    let notification = &run["invocations"][0]["toolExecutionNotifications"][0];
    assert_eq!(notification["level"], "warning");
    assert!(text(&notification["message"]["text"], "notification").starts_with("11 results"));
    check_github_requirements(&doc);
}

// ---------------------------------------------------------------------------------------------
// CycloneDX.

#[test]
fn cyclonedx_for_the_fixture_tree() {
    let (root, _) = fixture_findings();
    let judged = fixture_judged();
    let targets = vec![root.clone()];
    let context = context(&targets);
    let bytes = cyclonedx_bytes(&judged, &context);
    assert_eq!(
        bytes,
        cyclonedx_bytes(&judged, &context),
        "the same input gives the same BOM"
    );
    let doc = parse(&bytes);

    assert_eq!(doc["bomFormat"], "CycloneDX");
    assert_eq!(doc["specVersion"], "1.6");
    assert_eq!(doc["version"], 1);
    let serial = text(&doc["serialNumber"], "serialNumber");
    let uuid5 = "^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$";
    assert!(Regex::new(uuid5).unwrap().is_match(serial), "{serial}");
    let later = InspectContext {
        now: NOW + 1,
        ..context
    };
    assert_ne!(
        parse(&cyclonedx_bytes(&judged, &later))["serialNumber"],
        serial,
        "another document, another serial number"
    );

    let metadata = &doc["metadata"];
    assert_eq!(metadata["timestamp"], "2026-01-01T00:00:00Z");
    let tools = array(&metadata["tools"]["components"], "tools");
    assert_eq!(tools[0]["name"], "rootsift");
    assert_eq!(tools[0]["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(metadata["component"]["name"], root.as_str());
    assert_eq!(metadata["component"]["type"], "file");

    let components = array(&doc["components"], "components");
    let by_ref: HashMap<&str, &Value> = components
        .iter()
        .map(|c| (text(&c["bom-ref"], "bom-ref"), c))
        .collect();
    assert_eq!(by_ref.len(), components.len(), "bom-refs are unique");
    let certificates = components
        .iter()
        .filter(|c| c["cryptoProperties"]["assetType"] == "certificate")
        .count();
    assert_eq!(
        certificates,
        judged.len(),
        "every certificate, with issues or not"
    );

    for j in &judged {
        let sha = j.cert.sha256_hex();
        let c = by_ref[format!("certificate:sha256:{sha}").as_str()];
        assert_eq!(c["type"], "cryptographic-asset");
        assert!(!text(&c["name"], "name").is_empty());
        if j.cert.subject.starts_with("CN=") {
            assert!(
                !text(&c["name"], "name").contains("CN="),
                "named by the CN alone"
            );
        }
        let hashes = array(&c["hashes"], "hashes");
        assert_eq!(hashes[0]["alg"], "SHA-256");
        assert_eq!(hashes[0]["content"], sha);
        assert_eq!(hashes[1]["alg"], "SHA-1");
        assert_eq!(hashes[1]["content"], j.cert.sha1_hex());
        let props = &c["cryptoProperties"]["certificateProperties"];
        assert_eq!(props["subjectName"], j.cert.subject);
        assert_eq!(props["issuerName"], j.cert.issuer);
        assert_eq!(props["notValidBefore"], rfc3339(j.cert.not_before));
        assert_eq!(props["notValidAfter"], rfc3339(j.cert.not_after));
        assert_eq!(props["certificateFormat"], "X.509");

        let signature = by_ref[text(&props["signatureAlgorithmRef"], "signatureAlgorithmRef")];
        assert_eq!(signature["cryptoProperties"]["assetType"], "algorithm");
        assert_eq!(signature["name"], j.cert.signature_algorithm);
        let key = by_ref[text(&props["subjectPublicKeyRef"], "subjectPublicKeyRef")];
        let material = &key["cryptoProperties"]["relatedCryptoMaterialProperties"];
        assert_eq!(material["type"], "public-key");
        assert_eq!(material["size"], j.cert.public_key_bits);
        let key_algorithm = by_ref[text(&material["algorithmRef"], "algorithmRef")];
        assert!(
            text(&key_algorithm["name"], "key algorithm")
                .starts_with(j.cert.public_key_algorithm.as_str())
        );

        let occurrences: Vec<(String, u64)> = array(&c["evidence"]["occurrences"], "occurrences")
            .iter()
            .map(|o| {
                (
                    text(&o["location"], "location").to_string(),
                    o["offset"].as_u64().expect("offset"),
                )
            })
            .collect();
        let places: Vec<(String, u64)> = j
            .findings
            .iter()
            .map(|f| (f.location.clone(), f.offset))
            .collect();
        assert_eq!(occurrences, places, "every place it was found");

        let issues: Vec<&str> = c["properties"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|p| p["name"] == "rootsift:issue")
            .map(|p| text(&p["value"], "issue"))
            .collect();
        let expected: Vec<String> = j
            .issues
            .iter()
            .map(|i| format!("{}: {}", i.kind.as_str(), i.message))
            .collect();
        assert_eq!(issues, expected);
    }

    // Known algorithms carry their OIDs.
    let sha256_rsa = by_ref["algorithm:sha256WithRSAEncryption"];
    assert_eq!(
        sha256_rsa["cryptoProperties"]["oid"],
        "1.2.840.113549.1.1.11"
    );
    assert_eq!(
        sha256_rsa["cryptoProperties"]["algorithmProperties"]["primitive"],
        "signature"
    );
    assert!(
        by_ref.contains_key("algorithm:EC-secp256r1"),
        "the EC fixtures use P-256"
    );

    // Every reference resolves.
    let mut refs: Vec<&str> = Vec::new();
    for c in components {
        let crypto = &c["cryptoProperties"];
        for r in [
            &crypto["certificateProperties"]["signatureAlgorithmRef"],
            &crypto["certificateProperties"]["subjectPublicKeyRef"],
            &crypto["relatedCryptoMaterialProperties"]["algorithmRef"],
        ] {
            refs.extend(r.as_str());
        }
    }
    for d in array(&doc["dependencies"], "dependencies") {
        refs.push(text(&d["ref"], "ref"));
        refs.extend(
            array(&d["dependsOn"], "dependsOn")
                .iter()
                .map(|r| text(r, "dependsOn")),
        );
    }
    for r in refs {
        assert!(
            by_ref.contains_key(r) || metadata["component"]["bom-ref"] == r,
            "{r} refers to nothing"
        );
    }

    let dir = tempfile::tempdir().expect("temporary directory");
    validate_cyclonedx(&write_temp(dir.path(), "fixtures.cdx.json", &bytes));
}

// ---------------------------------------------------------------------------------------------
// Nothing found.

#[test]
fn zero_certificates_make_valid_documents() {
    let dir = tempfile::tempdir().expect("temporary directory");
    for (name, targets) in [
        ("none", vec!["/srv/empty".to_string()]),
        ("image", vec!["alpine:3.20".to_string()]),
        ("two", vec!["/a".to_string(), "/b".to_string()]),
    ] {
        let context = context(&targets);
        let sarif_out = sarif_bytes(&[], &context);
        let doc = parse(&sarif_out);
        assert_eq!(array(&doc["runs"][0]["results"], "results").len(), 0);
        check_github_requirements(&doc);
        validate_sarif(&write_temp(
            dir.path(),
            &format!("{name}.sarif"),
            &sarif_out,
        ));

        let bom = cyclonedx_bytes(&[], &context);
        let doc = parse(&bom);
        assert_eq!(array(&doc["components"], "components").len(), 0);
        validate_cyclonedx(&write_temp(dir.path(), &format!("{name}.cdx.json"), &bom));
    }

    // Certificates without issues: no SARIF result, but every one in the BOM.
    let (root, findings) = fixture_findings();
    let judged = group(findings);
    let targets = vec![root.clone()];
    let context = context(&targets);
    let doc = parse(&sarif_bytes(&judged, &context));
    assert_eq!(array(&doc["runs"][0]["results"], "results").len(), 0);
    let bom = parse(&cyclonedx_bytes(&judged, &context));
    let certificates = array(&bom["components"], "components")
        .iter()
        .filter(|c| c["cryptoProperties"]["assetType"] == "certificate")
        .count();
    assert_eq!(certificates, judged.len());
}
