//! The inspect checks: what is wrong with one certificate, judged against a given clock and the
//! Mozilla root-store history, and the grouping of a scan's findings by certificate.
//!
//! | kind | level | when |
//! | --- | --- | --- |
//! | `expired` | error | `notAfter` is before the clock |
//! | `not_yet_valid` | error | `notBefore` is after the clock |
//! | `expiring_soon` | warning | `notAfter` falls within the expiry window |
//! | `removed_from_mozilla` | error | Mozilla's root store once trusted it for TLS servers and no longer does (or CCADB's removed-CA report lists it) |
//! | `weak_key` | error (DSA: warning) | RSA under 2048 bits, EC under 256 bits, any DSA key |
//! | `weak_signature` | error (SHA-1: warning) | MD2 or MD5; SHA-1 unless the certificate is self-signed (a root's own signature is never checked) |
//! | `not_a_ca` | warning | in a CA bundle or trust store, yet not a CA (a self-signed v1 certificate counts as a CA, as OpenSSL treats it) |
//! | `unknown_root` | warning | a self-signed CA that Mozilla's root store never carried |

use std::collections::HashMap;

use super::mozilla::{MozillaData, MozillaStatus};
use super::{Issue, IssueKind, Judged, Level};
use crate::cert::{Certificate, rfc3339};
use crate::record::Finding;

/// Seconds in a day.
const DAY: i64 = 86_400;

/// What the checks are judged against.
#[derive(Debug, Clone, Copy)]
pub struct CheckOptions<'a> {
    /// The clock, in seconds since the Unix epoch.
    pub now: i64,
    /// How close to `notAfter` counts as expiring soon, in seconds.
    pub expiry_window: i64,
    /// Mozilla's root-store history.
    pub mozilla: &'a MozillaData,
}

/// Groups `findings` by certificate (first-seen order) and judges each certificate once.
pub fn judge_all(findings: Vec<Finding>, options: &CheckOptions<'_>) -> Vec<Judged> {
    let mut index: HashMap<[u8; 32], usize> = HashMap::new();
    let mut judged: Vec<Judged> = Vec::new();
    for finding in findings {
        match index.get(&finding.cert.sha256) {
            Some(&i) => judged[i].findings.push(finding),
            None => {
                index.insert(finding.cert.sha256, judged.len());
                judged.push(Judged {
                    cert: finding.cert.clone(),
                    findings: vec![finding],
                    issues: Vec::new(),
                });
            }
        }
    }
    for j in &mut judged {
        j.issues = check(&j.cert, &j.findings, options);
    }
    judged
}

/// Every issue of `cert`, found at `findings`, most serious first.
pub fn check(cert: &Certificate, findings: &[Finding], options: &CheckOptions<'_>) -> Vec<Issue> {
    let mut issues = Vec::new();
    let mut add = |level, kind, message: String| {
        issues.push(Issue {
            level,
            kind,
            message,
        })
    };
    let now = options.now;

    if cert.not_after < now {
        add(
            Level::Error,
            IssueKind::Expired,
            format!(
                "expired on {}, {} ago",
                rfc3339(cert.not_after),
                span(now - cert.not_after)
            ),
        );
    } else if cert.not_after - now <= options.expiry_window {
        add(
            Level::Warning,
            IssueKind::ExpiringSoon,
            format!(
                "expires on {}, in {}",
                rfc3339(cert.not_after),
                span(cert.not_after - now)
            ),
        );
    }
    if cert.not_before > now {
        add(
            Level::Error,
            IssueKind::NotYetValid,
            format!(
                "not valid before {}, in {}",
                rfc3339(cert.not_before),
                span(cert.not_before - now)
            ),
        );
    }

    let mozilla = options.mozilla.status(&cert.sha256);
    if let MozillaStatus::Removed {
        removed,
        release,
        comment,
        ..
    } = &mozilla
    {
        // certifi carries the roots Mozilla trusts for TLS servers; CCADB's report lists roots
        // removed from the store altogether.
        let mut message = match release {
            Some(release) => format!(
                "no longer trusted by Mozilla for TLS server authentication since {removed} \
                 (first missing from certifi {release})"
            ),
            None => format!("removed from Mozilla's root store ({removed})"),
        };
        if let Some(comment) = comment.filter(|c| !c.trim().is_empty()) {
            message.push_str(": ");
            message.push_str(comment.trim());
        }
        add(Level::Error, IssueKind::RemovedFromMozilla, message);
    }

    if let Some((level, message)) = weak_key(cert) {
        add(level, IssueKind::WeakKey, message);
    }
    if let Some((level, message)) = weak_signature(cert) {
        add(level, IssueKind::WeakSignature, message);
    }

    let acts_as_ca = cert.is_ca || (cert.version == 1 && cert.self_signed);
    if !acts_as_ca && let Some(store) = findings.iter().find(|f| is_trust_store(&f.location)) {
        add(
            Level::Warning,
            IssueKind::NotACa,
            format!(
                "not a CA certificate, yet found in the trust store {}",
                store.location
            ),
        );
    }
    if acts_as_ca && cert.self_signed && mozilla == MozillaStatus::Unknown {
        add(
            Level::Warning,
            IssueKind::UnknownRoot,
            "a self-signed CA that Mozilla's root store has never included (a private or unknown root)"
                .into(),
        );
    }

    issues.sort_by(|a, b| b.level.cmp(&a.level).then(a.kind.cmp(&b.kind)));
    issues
}

fn weak_key(cert: &Certificate) -> Option<(Level, String)> {
    let bits = cert.public_key_bits;
    match cert.public_key_algorithm.as_str() {
        "RSA" if bits < 2048 => Some((Level::Error, format!("{bits}-bit RSA key (under 2048)"))),
        "EC" if bits < 256 => Some((Level::Error, format!("{bits}-bit EC key (under 256)"))),
        "DSA" => Some((
            Level::Warning,
            format!("{bits}-bit DSA key (DSA is deprecated)"),
        )),
        _ => None,
    }
}

fn weak_signature(cert: &Certificate) -> Option<(Level, String)> {
    let algorithm = &cert.signature_algorithm;
    let lower = algorithm.to_ascii_lowercase();
    if lower.starts_with("md2") || lower.starts_with("md5") {
        return Some((Level::Error, format!("signed with {algorithm}")));
    }
    // 1.3.14.3.2.29 is the old OIW sha1WithRSASignature.
    let sha1 = lower.contains("sha1") || algorithm == "1.3.14.3.2.29";
    // A trust anchor's own signature is never verified, so SHA-1 on a root does no harm.
    (sha1 && !cert.self_signed).then(|| {
        (
            Level::Warning,
            format!("signed with {algorithm} (SHA-1 collisions are practical)"),
        )
    })
}

/// Whether a location is a CA bundle or trust store on a common system: what the TLS stacks of
/// Debian, Alpine, RHEL, Java and Python read their trusted roots from.
pub fn is_trust_store(location: &str) -> bool {
    // The last member of an archive path (`…/certifi-x.whl!/certifi/cacert.pem`) counts too.
    let path = location.rsplit("!/").next().unwrap_or(location);
    let path = path.strip_prefix('/').unwrap_or(path);
    const DIRECTORIES: &[&str] = &[
        "etc/ssl/certs/",
        "usr/share/ca-certificates/",
        "usr/local/share/ca-certificates/",
        "etc/pki/ca-trust/",
        "usr/share/pki/ca-trust-source/",
        "etc/pki/tls/certs/",
        "etc/ca-certificates/",
    ];
    const FILES: &[&str] = &[
        "ca-certificates.crt",
        "ca-bundle.crt",
        "ca-bundle.trust.crt",
        "tls-ca-bundle.pem",
        "cacert.pem",
        "cacerts",
        "cacerts.pem",
        "etc/ssl/cert.pem",
    ];
    DIRECTORIES
        .iter()
        .any(|d| path.starts_with(d) || path.contains(&format!("/{d}")))
        || FILES
            .iter()
            .any(|f| path == *f || path.ends_with(&format!("/{f}")))
}

/// A duration as people say it: `3 days`, `2 years 4 months`, `5 hours`.
fn span(seconds: i64) -> String {
    let days = seconds / DAY;
    let plural = |n: i64, unit: &str| format!("{n} {unit}{}", if n == 1 { "" } else { "s" });
    if days >= 365 {
        let years = days / 365;
        let months = days % 365 / 30;
        if months > 0 {
            format!("{} {}", plural(years, "year"), plural(months, "month"))
        } else {
            plural(years, "year")
        }
    } else if days >= 1 {
        plural(days, "day")
    } else {
        plural(seconds / 3600, "hour")
    }
}

/// Parses `--now`: `YYYY-MM-DD` (midnight UTC) or RFC 3339 `YYYY-MM-DDTHH:MM:SSZ` (a `+hh:mm`
/// offset is accepted too) into seconds since the Unix epoch.
pub fn parse_time(text: &str) -> Result<i64, String> {
    let bad = || {
        format!("`{text}` is not a date (YYYY-MM-DD) or an RFC 3339 time (2025-06-01T12:00:00Z)")
    };
    let number = |s: &str| -> Result<i64, String> {
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        s.parse().map_err(|_| bad())
    };
    let (date, time) = match text.split_once(['T', 't', ' ']) {
        Some((d, t)) => (d, Some(t)),
        None => (text, None),
    };
    let mut parts = date.splitn(3, '-');
    let (year, month, day) = match (parts.next(), parts.next(), parts.next()) {
        (Some(y), Some(m), Some(d)) if y.len() == 4 && m.len() == 2 && d.len() == 2 => {
            (number(y)?, number(m)?, number(d)?)
        }
        _ => return Err(bad()),
    };
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return Err(bad());
    }
    let mut seconds = days_from_civil(year, month, day) * DAY;
    if let Some(time) = time {
        let (clock, offset) = if let Some(clock) = time.strip_suffix(['Z', 'z']) {
            (clock, 0)
        } else if let Some(i) = time.rfind(['+', '-']).filter(|&i| i >= 8) {
            let (clock, zone) = time.split_at(i);
            let sign = if zone.starts_with('-') { -1 } else { 1 };
            let (h, m) = zone[1..].split_once(':').ok_or_else(bad)?;
            (clock, sign * (number(h)? * 3600 + number(m)? * 60))
        } else {
            return Err(bad());
        };
        let clock = clock.split('.').next().unwrap_or(clock);
        let mut fields = clock.splitn(3, ':');
        let (h, m, s) = match (fields.next(), fields.next(), fields.next()) {
            (Some(h), Some(m), Some(s)) => (number(h)?, number(m)?, number(s)?),
            _ => return Err(bad()),
        };
        if h > 23 || m > 59 || s > 60 {
            return Err(bad());
        }
        seconds += h * 3600 + m * 60 + s - offset;
    }
    Ok(seconds)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let yoe = year.rem_euclid(400);
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Parses `--expiry-window`: a number of days, optionally with a unit (`180`, `180d`, `26w`,
/// `6m` for months of 30 days, `1y`), into seconds.
pub fn parse_window(text: &str) -> Result<i64, String> {
    let bad = || format!("`{text}` is not a window (e.g. 180d, 26w, 6m, 1y)");
    let (digits, days_per_unit) = match text.as_bytes().last() {
        Some(b'd') => (&text[..text.len() - 1], 1),
        Some(b'w') => (&text[..text.len() - 1], 7),
        Some(b'm') => (&text[..text.len() - 1], 30),
        Some(b'y') => (&text[..text.len() - 1], 365),
        _ => (text, 1),
    };
    let n: i64 = digits.parse().map_err(|_| bad())?;
    if n < 0 {
        return Err(bad());
    }
    n.checked_mul(days_per_unit * DAY).ok_or_else(bad)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_parse_like_rfc3339() {
        assert_eq!(parse_time("1970-01-01"), Ok(0));
        assert_eq!(parse_time("2025-06-01"), Ok(1_748_736_000));
        assert_eq!(
            parse_time("2025-06-01T12:30:15Z"),
            Ok(1_748_736_000 + 45_015)
        );
        assert_eq!(
            parse_time("2025-06-01T14:30:15+02:00"),
            Ok(1_748_736_000 + 45_015)
        );
        for text in [
            "2025-06-01T14:30:15+02:00",
            "2000-02-29T23:59:59Z",
            "1999-12-31",
        ] {
            let secs = parse_time(text).unwrap();
            let back = rfc3339(secs);
            assert_eq!(parse_time(&back), Ok(secs), "{text} -> {back}");
        }
        for bad in [
            "",
            "2025",
            "2025-13-01",
            "25-06-01",
            "2025-06-01T25:00:00Z",
            "2025-06-01T12:00:00",
            "now",
        ] {
            assert!(parse_time(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn windows_parse_with_units() {
        assert_eq!(parse_window("180"), Ok(180 * DAY));
        assert_eq!(parse_window("180d"), Ok(180 * DAY));
        assert_eq!(parse_window("2w"), Ok(14 * DAY));
        assert_eq!(parse_window("6m"), Ok(180 * DAY));
        assert_eq!(parse_window("1y"), Ok(365 * DAY));
        assert!(parse_window("-1d").is_err());
        assert!(parse_window("soon").is_err());
    }

    #[test]
    fn trust_stores_are_recognised() {
        for yes in [
            "/etc/ssl/certs/ca-certificates.crt",
            "/etc/ssl/certs/ssl-cert-snakeoil.pem",
            "/usr/share/ca-certificates/mozilla/ISRG_Root_X1.crt",
            "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
            "/usr/lib/jvm/java-17-openjdk-amd64/lib/security/cacerts",
            "/opt/venv/lib/python3.11/site-packages/certifi/cacert.pem",
            "/opt/wheels/certifi-2024.2.2-py3-none-any.whl!/certifi/cacert.pem",
            "/etc/ssl/cert.pem",
        ] {
            assert!(is_trust_store(yes), "{yes}");
        }
        for no in [
            "/etc/nginx/server.pem",
            "/srv/app/fullchain.pem",
            "/opt/app.war!/WEB-INF/classes/ca.pem",
            "/usr/share/doc/cert.pem",
        ] {
            assert!(!is_trust_store(no), "{no}");
        }
    }

    #[test]
    fn spans_read_naturally() {
        assert_eq!(span(DAY), "1 day");
        assert_eq!(span(3 * DAY + 5), "3 days");
        assert_eq!(span(400 * DAY), "1 year 1 month");
        assert_eq!(span(730 * DAY), "2 years");
        assert_eq!(span(7200), "2 hours");
    }
}
