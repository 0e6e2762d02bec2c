//! Java KeyStore (JKS, magic `FEEDFEED`) and JCEKS (magic `CECECECE`) stores.
//!
//! Both formats are a big-endian header (magic, version 1 or 2, entry count) followed by entries,
//! then a SHA-1 integrity digest keyed by the store password. Certificates are stored in clear, so
//! no password is needed and the digest is not checked. Entries:
//!
//! - tag 1, private key: alias, timestamp, the protected key (length-prefixed), then the
//!   certificate chain — a count, and for each certificate (version 2: a type string, `X.509`) a
//!   length and the DER;
//! - tag 2, trusted certificate: alias, timestamp, (version 2: type), length, DER;
//! - tag 3, secret key (JCEKS only): alias, timestamp, then a Java-serialized `SealedObject` whose
//!   length is stored nowhere. Reading stops there with a partial; the rest of the store is then
//!   searched for DER certificates, so the trusted certificates after it are still found.
//!
//! Strings are Java's `writeUTF`: a u16 length, then modified UTF-8. Certificates are reported at
//! the offset of their DER in the store.
//!
//! Written by hand: the format is small, and the only crate for it (`jks`, 2026) needs the store
//! password and does not read JCEKS. Counts found in the input are checked against the bytes that
//! remain before anything is read, and nothing is allocated from them.

use super::{Detector, FormatResult, Parser, Placement, Relocated, Sink};

const MAGIC_JKS: [u8; 4] = [0xfe, 0xed, 0xfe, 0xed];
const MAGIC_JCEKS: [u8; 4] = [0xce, 0xce, 0xce, 0xce];
const TAG_PRIVATE_KEY: u32 = 1;
const TAG_TRUSTED_CERT: u32 = 2;
const TAG_SECRET_KEY: u32 = 3;
/// The fewest bytes an entry takes: tag, empty alias, timestamp.
const MIN_ENTRY: usize = 4 + 2 + 8;
/// The fewest bytes a certificate in a chain takes: its length.
const MIN_CERT: usize = 4;
/// Length of the SHA-1 digest that ends a store.
const DIGEST_LEN: usize = 20;
/// Longest alias quoted in a message.
const MAX_ALIAS_SHOWN: usize = 64;

/// Reports every certificate in the JKS or JCEKS store in `data` (the parser tag follows the magic).
///
/// An `Err` means the header (magic, version, entry count) is not valid; nothing has been reported
/// then. An entry that cannot be read ends the walk with a partial naming the entry; what was read
/// before it stays reported, and the unread rest is searched for DER certificates.
pub fn scan(detector: &Detector<'_>, data: &[u8], sink: &mut dyn Sink) -> FormatResult {
    let parser = match data.get(..4) {
        Some(m) if m == MAGIC_JKS => Parser::Jks,
        Some(m) if m == MAGIC_JCEKS => Parser::Jceks,
        _ => return Err("the magic number is neither FEEDFEED (JKS) nor CECECECE (JCEKS)".into()),
    };
    let mut cursor = Cursor { data, pos: 4 };
    let version = cursor.u32("the version")?;
    if version != 1 && version != 2 {
        return Err(format!("version {version} is not 1 or 2"));
    }
    let count = cursor.u32("the entry count")?;
    let left = cursor.left();
    if usize::try_from(count).map_or(true, |n| n > left / MIN_ENTRY) {
        return Err(format!(
            "entry count {count} cannot fit in the {left} bytes that follow"
        ));
    }

    let mut store = Store {
        detector,
        sink,
        parser,
        version,
    };
    for n in 1..=count {
        let mut entry = Entry {
            number: n,
            alias: None,
        };
        if let Err(reason) = store.entry(&mut cursor, &mut entry) {
            let resume = cursor.pos;
            store.sink.partial(
                resume as u64,
                parser,
                format!("{}: {reason}", entry.label()),
            );
            search_rest(detector, data, resume, store.sink);
            return Ok(());
        }
    }
    let left = cursor.left();
    if left < DIGEST_LEN {
        sink.partial(
            cursor.pos as u64,
            parser,
            format!("the store ends {left} bytes after its last entry, inside its {DIGEST_LEN}-byte digest"),
        );
    }
    Ok(())
}

/// Searches `data[from..]` for DER certificates, with offsets relative to `data`.
fn search_rest(detector: &Detector<'_>, data: &[u8], from: usize, sink: &mut dyn Sink) {
    let Some(rest) = data.get(from..) else { return };
    let mut shifted = Relocated {
        inner: sink,
        at: Placement::Shift(from as u64),
        parser: None,
    };
    super::der::scan(detector, rest, &mut shifted);
}

/// The store being read and where its findings go.
struct Store<'d, 's> {
    detector: &'d Detector<'d>,
    sink: &'s mut dyn Sink,
    parser: Parser,
    version: u32,
}

/// The entry being read, for messages.
struct Entry {
    number: u32,
    alias: Option<String>,
}

impl Entry {
    /// `entry 3 (alias "foo")`.
    fn label(&self) -> String {
        match &self.alias {
            Some(alias) => format!("entry {} (alias {alias:?})", self.number),
            None => format!("entry {}", self.number),
        }
    }
}

impl Store<'_, '_> {
    /// Reads one entry, reporting its certificates. An `Err` means the walk cannot go on; the
    /// cursor is then where the unread bytes start.
    fn entry(&mut self, cursor: &mut Cursor<'_>, entry: &mut Entry) -> Result<(), String> {
        let tag = cursor.u32("the entry tag")?;
        let alias = cursor.utf("the alias")?;
        let shown: String = String::from_utf8_lossy(alias)
            .chars()
            .take(MAX_ALIAS_SHOWN)
            .collect();
        entry.alias = Some(shown);
        cursor.take(8, "the timestamp")?;
        match tag {
            TAG_PRIVATE_KEY => {
                cursor.counted("the protected key")?;
                let chain = cursor.u32("the certificate chain length")?;
                let left = cursor.left();
                if usize::try_from(chain).map_or(true, |n| n > left / MIN_CERT) {
                    return Err(format!("certificate chain length {chain} cannot fit in the {left} bytes left"));
                }
                for i in 1..=chain {
                    self.certificate(cursor, entry, &format!("certificate {i} of {chain} in the chain"))?;
                }
                Ok(())
            }
            TAG_TRUSTED_CERT => self.certificate(cursor, entry, "certificate"),
            TAG_SECRET_KEY if self.parser == Parser::Jceks => Err("a secret key entry: its Java-serialized \
                 SealedObject has no stored length, so the entries after it cannot be located; the rest \
                 of the store was searched for DER certificates"
                .into()),
            other => Err(format!("unknown entry tag {other}")),
        }
    }

    /// Reads one certificate (type in version 2, length, DER) and reports it.
    fn certificate(
        &mut self,
        cursor: &mut Cursor<'_>,
        entry: &Entry,
        what: &str,
    ) -> Result<(), String> {
        let cert_type = if self.version == 2 {
            Some(cursor.utf("the certificate type")?)
        } else {
            None
        };
        let at = cursor.pos + 4;
        let der = cursor.counted(what)?;
        let problem = match cert_type {
            Some(t) if t != b"X.509" => format!(
                "{what} has type {:?}, not X.509",
                String::from_utf8_lossy(t)
            ),
            _ => match self.detector.cache.get_or_parse(der) {
                Ok(cert) => {
                    self.sink.certificate(cert, at as u64, self.parser);
                    return Ok(());
                }
                Err(e) => format!("{what}: {e}"),
            },
        };
        self.sink.partial(
            at as u64,
            self.parser,
            format!("{}: {problem}", entry.label()),
        );
        Ok(())
    }
}

/// Reads big-endian fields; on failure the position stays before the field that failed.
struct Cursor<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn left(&self) -> usize {
        self.data.len().saturating_sub(self.pos)
    }

    /// The next `n` bytes.
    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], String> {
        let bytes = self
            .pos
            .checked_add(n)
            .and_then(|end| self.data.get(self.pos..end))
            .ok_or_else(|| format!("the store ends inside {what}"))?;
        self.pos += n;
        Ok(bytes)
    }

    fn u32(&mut self, what: &str) -> Result<u32, String> {
        let bytes = self.take(4, what)?;
        Ok(u32::from_be_bytes(bytes.try_into().unwrap_or_default()))
    }

    /// A `writeUTF` string: u16 length, then the bytes.
    fn utf(&mut self, what: &str) -> Result<&'a [u8], String> {
        let start = self.pos;
        let len = self.take(2, what)?;
        let len = usize::from(u16::from_be_bytes(len.try_into().unwrap_or_default()));
        self.take(len, what).inspect_err(|_| self.pos = start)
    }

    /// A u32 length, then that many bytes (`what` names them).
    fn counted(&mut self, what: &str) -> Result<&'a [u8], String> {
        let start = self.pos;
        let len = self.u32(&format!("the length of {what}"))?;
        let n = usize::try_from(len).unwrap_or(usize::MAX);
        if n > self.left() {
            self.pos = start;
            return Err(format!(
                "{what} length {len} runs past the end of the store"
            ));
        }
        self.take(n, what)
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use sha2::{Digest, Sha256};

    use super::*;
    use crate::detect::testing;
    use crate::detect::testing::{
        cut_points, fingerprints, issued, read, run, self_signed, sorted,
    };

    fn import_trusted(dir: &Path, store: &str, storetype: &str, ca: &str) {
        let args = format!(
            "-importcert -noprompt -alias {ca} -file {ca}.pem -keystore {store} \
             -storetype {storetype} -storepass changeit"
        );
        run(dir, "keytool", &args);
    }

    fn keytool_fingerprints(dir: &Path, store: &str, storetype: &str) -> Vec<String> {
        let args = format!("-list -v -keystore {store} -storetype {storetype} -storepass changeit");
        sorted(&fingerprints(&run(dir, "keytool", &args), "SHA256:"))
    }

    /// Checks that exactly `expected` was reported, each by `parser` at the offset of its DER.
    fn assert_found(data: &[u8], rec: &testing::Recorder, parser: Parser, expected: &[String]) {
        let found: Vec<String> = rec.certs.iter().map(|c| c.3.clone()).collect();
        assert_eq!(sorted(&found), expected, "{rec:?}");
        for (_, offset, p, sha256) in &rec.certs {
            assert_eq!(*p, parser);
            let at = usize::try_from(*offset).unwrap();
            let len = crate::cert::der_object_len(&data[at..]).expect("a DER object at the offset");
            assert_eq!(hex::encode(Sha256::digest(&data[at..at + len])), *sha256);
        }
    }

    #[test]
    fn jks_and_jceks_truststores() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let cas = sorted(&[
            self_signed(d, "ca1"),
            self_signed(d, "ca2"),
            self_signed(d, "ca3"),
        ]);
        for (store, storetype, parser) in [
            ("t.jks", "JKS", Parser::Jks),
            ("t.jceks", "JCEKS", Parser::Jceks),
        ] {
            for ca in ["ca1", "ca2", "ca3"] {
                import_trusted(d, store, storetype, ca);
            }
            assert_eq!(keytool_fingerprints(d, store, storetype), cas);
            let data = read(d, store);
            let rec = testing::scan(&data);
            assert_found(&data, &rec, parser, &cas);
            assert!(rec.partials.is_empty(), "{store}: {:?}", rec.partials);
        }
    }

    #[test]
    fn jks_private_key_entry_with_chain() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let ca = self_signed(d, "ca");
        let leaf = issued(d, "leaf", "ca");
        run(
            d,
            "openssl",
            "pkcs12 -export -inkey leaf.key -in leaf.pem -certfile ca.pem -name server \
             -passout pass:changeit -out k.p12",
        );
        run(
            d,
            "keytool",
            "-importkeystore -noprompt -srckeystore k.p12 -srcstoretype PKCS12 \
             -srcstorepass changeit -destkeystore k.jks -deststoretype JKS \
             -deststorepass changeit -destkeypass changeit",
        );
        import_trusted(d, "k.jks", "JKS", "ca");
        // The chain of the private key entry (leaf, CA), then the CA as a trusted entry.
        let expected = sorted(&[ca.clone(), ca, leaf]);
        assert_eq!(keytool_fingerprints(d, "k.jks", "JKS"), expected);
        let data = read(d, "k.jks");
        let rec = testing::scan(&data);
        assert_found(&data, &rec, Parser::Jks, &expected);
        assert!(rec.partials.is_empty(), "{:?}", rec.partials);
    }

    #[test]
    fn jceks_secret_key_stops_the_walk_but_not_the_search() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let cas = sorted(&[self_signed(d, "ca1"), self_signed(d, "ca2")]);
        import_trusted(d, "s.jceks", "JCEKS", "ca1");
        run(
            d,
            "keytool",
            "-genseckey -alias aes -keyalg AES -keysize 128 -keystore s.jceks -storetype JCEKS \
             -storepass changeit -keypass changeit",
        );
        import_trusted(d, "s.jceks", "JCEKS", "ca2");
        let rec = testing::scan(&read(d, "s.jceks"));
        let found: Vec<String> = rec.certs.iter().map(|c| c.3.clone()).collect();
        assert_eq!(sorted(&found), cas, "{rec:?}");
        assert!(
            rec.certs
                .iter()
                .all(|c| matches!(c.2, Parser::Jceks | Parser::Der))
        );
        assert_eq!(rec.partials.len(), 1, "{:?}", rec.partials);
        let (_, _, parser, reason) = &rec.partials[0];
        assert_eq!(*parser, Parser::Jceks);
        assert!(
            reason.contains("(alias \"aes\"): a secret key entry"),
            "{reason}"
        );
    }

    /// A version 1 store (no certificate types) made by hand around `der`, whose length is given
    /// as `claimed_len`.
    fn v1_store(der: &[u8], claimed_len: u32) -> Vec<u8> {
        let mut s = Vec::new();
        s.extend_from_slice(&MAGIC_JKS);
        s.extend_from_slice(&1u32.to_be_bytes()); // version
        s.extend_from_slice(&1u32.to_be_bytes()); // entries
        s.extend_from_slice(&TAG_TRUSTED_CERT.to_be_bytes());
        s.extend_from_slice(&3u16.to_be_bytes());
        s.extend_from_slice(b"foo");
        s.extend_from_slice(&0u64.to_be_bytes()); // timestamp
        s.extend_from_slice(&claimed_len.to_be_bytes());
        s.extend_from_slice(der);
        s.extend_from_slice(&[0; DIGEST_LEN]);
        s
    }

    #[test]
    fn hand_made_stores() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let ca = self_signed(d, "ca");
        run(d, "openssl", "x509 -in ca.pem -outform DER -out ca.der");
        let der = read(d, "ca.der");
        let cache = crate::cert::CertCache::new();
        let limits = crate::detect::Limits::default();
        let detector = Detector {
            cache: &cache,
            limits: &limits,
            passwords: &[],
        };
        let scan_bytes = |data: &[u8]| {
            let mut rec = testing::Recorder::default();
            let result = scan(&detector, data, &mut rec);
            (result, rec)
        };

        let len = u32::try_from(der.len()).unwrap();
        let (result, rec) = scan_bytes(&v1_store(&der, len));
        assert_eq!(result, Ok(()));
        assert_eq!(rec.certs, vec![(String::new(), 33, Parser::Jks, ca)]);
        assert!(rec.partials.is_empty());

        let (result, rec) = scan_bytes(&v1_store(&der, 9999));
        assert_eq!(result, Ok(()));
        let reason =
            "entry 1 (alias \"foo\"): certificate length 9999 runs past the end of the store";
        assert_eq!(
            rec.partials,
            vec![(String::new(), 29, Parser::Jks, reason.to_string())]
        );
        // The rest of the store is still searched: the DER is intact.
        assert_eq!(rec.certs.len(), 1);
        assert_eq!((rec.certs[0].1, rec.certs[0].2), (33, Parser::Der));

        let mut bad_version = v1_store(&der, len);
        bad_version[7] = 3;
        assert_eq!(
            scan_bytes(&bad_version).0,
            Err("version 3 is not 1 or 2".into())
        );
        let mut huge_count = v1_store(&der, len);
        huge_count[8..12].copy_from_slice(&u32::MAX.to_be_bytes());
        let err = scan_bytes(&huge_count).0.unwrap_err();
        assert!(
            err.starts_with("entry count 4294967295 cannot fit"),
            "{err}"
        );
        assert!(scan_bytes(&MAGIC_JCEKS).0.is_err());
        assert!(scan_bytes(b"").0.is_err());
    }

    #[test]
    fn truncated_stores_never_panic_or_invent_certificates() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let known = [self_signed(d, "ca1"), self_signed(d, "ca2")];
        for (store, storetype) in [("t.jks", "JKS"), ("t.jceks", "JCEKS")] {
            import_trusted(d, store, storetype, "ca1");
            import_trusted(d, store, storetype, "ca2");
            let full = read(d, store);
            for cut in cut_points(full.len()) {
                let rec = testing::scan(&full[..cut]);
                for c in &rec.certs {
                    assert!(
                        known.contains(&c.3),
                        "{store} cut at {cut}: unknown certificate {c:?}"
                    );
                }
                if cut >= 4 {
                    assert!(!rec.partials.is_empty(), "{store} cut at {cut}: no partial");
                }
            }
        }
    }
}
