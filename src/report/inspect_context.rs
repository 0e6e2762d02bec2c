//! What the `inspect` reports ([`super::sarif`], [`super::cyclonedx`]) need to know beyond the
//! judged certificates themselves.

/// The circumstances of one `inspect` run, shared by the SARIF and CycloneDX writers.
#[derive(Debug, Clone, Copy)]
pub struct InspectContext<'a> {
    /// The targets as given on the command line. Reports name them; where a certificate was found
    /// is read from each finding's own resolved [`crate::record::Finding::target`].
    pub targets: &'a [String],
    /// The clock the checks used, in seconds since the Unix epoch. The CycloneDX timestamp is this
    /// instant, so the same inputs and clock give the same documents.
    pub now: i64,
    /// The date of the Mozilla root-store data the checks used (`YYYY-MM-DD`).
    pub mozilla_date: &'a str,
    /// Where that data came from: `embedded`, or the file given with `--mozilla-data`.
    pub mozilla_source: &'a str,
}

/// The file part of a location: everything before the first `!/` (an archive member's path follows
/// it).
pub(crate) fn outer_path(location: &str) -> &str {
    location.split("!/").next().unwrap_or(location)
}

/// Percent-encodes `path` as the path of a URI reference: unreserved characters, `/` and the
/// sub-delimiters stay, everything else (including `:`, `%`, `#`, `?`, spaces and non-ASCII bytes)
/// becomes `%XX`, so the result is a valid relative reference whatever the file name.
pub(crate) fn encode_uri_path(path: &str) -> String {
    const KEEP: &[u8] = b"-._~/!$&'()*+,;=@";
    let mut out = String::with_capacity(path.len());
    for &b in path.as_bytes() {
        if b.is_ascii_alphanumeric() || KEEP.contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outer_path_stops_at_the_first_member() {
        assert_eq!(
            outer_path("/opt/app.war!/WEB-INF/x.jar!/ca.der"),
            "/opt/app.war"
        );
        assert_eq!(outer_path("/etc/ssl/cert.pem"), "/etc/ssl/cert.pem");
    }

    #[test]
    fn uri_paths_escape_what_a_uri_cannot_hold() {
        assert_eq!(encode_uri_path("etc/ssl/a b.pem"), "etc/ssl/a%20b.pem");
        assert_eq!(
            encode_uri_path("x:y/100%#1?.crt"),
            "x%3Ay/100%25%231%3F.crt"
        );
        assert_eq!(encode_uri_path("é"), "%C3%A9");
        assert_eq!(encode_uri_path("a+b=c,d.pem"), "a+b=c,d.pem");
    }
}
