//! PKCS#12 stores (`.p12`, `.pfx`; Java's default keystore type since JDK 9).
//!
//! Reads `PFX → authSafe (id-data) → AuthenticatedSafe` (RFC 7292) and, in each of its parts, the
//! SafeContents: in clear (`id-data`) or password-encrypted (`id-encryptedData`). Every `certBag`
//! holding an X.509 certificate is reported, also inside nested `safeContentsBag`s; key bags are
//! skipped (private keys are not findings) and the MAC is not checked.
//!
//! Encrypted parts are opened with each of [`Detector::passwords`] in turn, the one that worked last
//! first. Supported schemes are the ones real tools write: PBES2 (PBKDF2 with HMAC-SHA1/SHA-2, then
//! AES-128/192/256-CBC or DES-EDE3-CBC — OpenSSL 3 and JDK 17+ defaults) and the PKCS#12 PBE schemes
//! `pbeWithSHAAnd3-KeyTripleDES-CBC`, `…2-KeyTripleDES-CBC`, `…128BitRC2-CBC` and `…40BitRC2-CBC`
//! (`openssl -legacy`, older Java and Windows). A password only counts as right when the plaintext
//! has valid padding *and* parses as SafeContents, so a wrong one never yields a certificate. The
//! empty password is tried in both encodings found in the wild for the PKCS#12 key derivation: a
//! BMPString with its two-byte terminator (Java, most OpenSSL paths) and no bytes at all (OpenSSL's
//! NULL password).
//!
//! The PKCS#12 key derivation (RFC 7292 appendix B) is written here: the crates that have it
//! (`pkcs12` 0.1 with `kdf`, `p12-keystore`) bring the der 0.7 / cms 0.2 or digest 0.11 families
//! along, which would duplicate what the rest of the crate uses. Key derivation work is bounded per
//! store ([`MAX_ITERATIONS`], [`WORK_BUDGET`]) so a hostile iteration count cannot stall a scan.
//!
//! Offsets: a certificate in a clear part is reported where its DER sits in the input; one that
//! was decrypted is reported at the offset of the encrypted content it came from.

use aes::{Aes128, Aes192, Aes256};
use cbc::cipher::block_padding::Pkcs7;
use cbc::cipher::{BlockCipher, BlockDecryptMut, InnerIvInit, KeyInit};
use des::{TdesEde2, TdesEde3};
use rc2::Rc2;
use sha1::{Digest, Sha1};
use sha2::{Sha224, Sha256, Sha384, Sha512};

use super::ber::{self, Octets, Reader, Tlv, tag};
use super::{DEFAULT_PKCS12_PASSWORDS, Detector, FormatResult, Parser, Sink};

/// Most iterations of one key derivation that are attempted (OpenSSL writes 2048, Java 10000).
pub const MAX_ITERATIONS: u64 = 1_000_000;
/// Most key derivation iterations spent on one store, over all its parts and passwords: 400
/// attempts at Java's 10000 iterations.
pub const WORK_BUDGET: u64 = 4_000_000;
/// How deep `safeContentsBag`s may nest.
const MAX_BAG_NESTING: u32 = 8;

const OID_DATA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x01];
const OID_ENVELOPED_DATA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x03];
const OID_ENCRYPTED_DATA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x06];
/// 1.2.840.113549.1.12.10.1: the bag types, numbered by the last arc.
const OID_BAG_TYPES: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x0c, 0x0a, 0x01];
const BAG_CERT: u8 = 3;
const BAG_SAFE_CONTENTS: u8 = 6;
const OID_X509_CERTIFICATE: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x16, 0x01];
const OID_SDSI_CERTIFICATE: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x16, 0x02];
const OID_PBES2: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x05, 0x0d];
const OID_PBKDF2: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x05, 0x0c];
/// 1.2.840.113549.2: HMAC algorithms, by last arc (7 = SHA-1, 8 = SHA-224, 9 = SHA-256, …).
const OID_HMAC: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x02];
/// 2.16.840.1.101.3.4.1: AES modes, by last arc (2 = AES-128-CBC, 22 = AES-192-CBC, 42 = AES-256-CBC).
const OID_AES: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x01];
const OID_DES_EDE3_CBC: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x03, 0x07];
/// 1.2.840.113549.1.12.1: the PKCS#12 PBE schemes, by last arc.
const OID_PKCS12_PBE: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x0c, 0x01];

/// Reports every certificate in the PFX at the start of `data`.
///
/// An `Err` means the PFX itself (version, authSafe, the list of parts) is not well formed; nothing
/// has been reported then. Parts and bags that cannot be read — an unknown password, an unsupported
/// scheme, a damaged bag — are partials, and the rest of the store is still read.
pub fn scan(detector: &Detector<'_>, data: &[u8], sink: &mut dyn Sink) -> FormatResult {
    let pfx = Reader::new(data, 0).expect(tag::SEQUENCE, "the PFX SEQUENCE")?;
    let mut fields = pfx.children();
    let version = fields.expect(tag::INTEGER, "the PFX version")?;
    if version.uint() != Some(3) {
        return Err(format!(
            "PFX version is 0x{} instead of 3",
            hex::encode(version.content)
        ));
    }
    let auth_safe = fields.expect(tag::SEQUENCE, "the authSafe ContentInfo")?;
    let (content_type, content) = content_info(&auth_safe)?;
    if content_type != OID_DATA {
        return Err(format!(
            "authSafe content type {} is not data (public-key integrity mode is not supported)",
            ber::oid_string(content_type)
        ));
    }
    let Octets {
        value: safe,
        segments,
    } = octet_string(content, "the authSafe content", auth_safe.offset)?;
    let origin = Origin::Segments(segments);
    let list = Reader::new(&safe, 0).expect(tag::SEQUENCE, "the AuthenticatedSafe SEQUENCE");
    let list = list.map_err(|e| format!("authSafe content: {e}"))?;
    let mut parts = Vec::new();
    let mut reader = list.children();
    while let Some(part) = reader
        .next_tlv()
        .map_err(|e| format!("AuthenticatedSafe: {e}"))?
    {
        parts.push(part);
    }

    let mut store = Store {
        detector,
        sink,
        preferred: None,
        work_left: WORK_BUDGET,
    };
    let count = parts.len();
    for (i, part) in parts.iter().enumerate() {
        if let Err(reason) = store.part(part, &origin) {
            let at = origin.offset(part.offset) as u64;
            store.sink.partial(
                at,
                Parser::Pkcs12,
                format!("part {} of {count}: {reason}", i + 1),
            );
        }
    }
    Ok(())
}

/// Where the bytes of a buffer being parsed are in the scanned input.
#[derive(Debug, Clone)]
enum Origin {
    /// Copied from the input: `(position in the buffer, offset in the input)` for each run of bytes.
    Segments(Vec<(usize, usize)>),
    /// Decrypted from the encrypted content at this offset.
    Decrypted(usize),
}

impl Origin {
    /// Offset in the input of the byte at `pos` in the buffer.
    fn offset(&self, pos: usize) -> usize {
        match self {
            Origin::Decrypted(at) => *at,
            Origin::Segments(segments) => {
                let i = segments.partition_point(|&(start, _)| start <= pos);
                match i.checked_sub(1).and_then(|i| segments.get(i)) {
                    Some(&(start, at)) => at + (pos - start),
                    None => pos,
                }
            }
        }
    }

    /// The origin of a buffer of `len` bytes built from runs of this one: `segments` are
    /// `(position in the new buffer, position in this buffer)`, as [`ber::octets`] returns them.
    /// A run that crosses a boundary between this buffer's own runs is split there.
    fn within(&self, segments: &[(usize, usize)], len: usize) -> Origin {
        let Origin::Segments(parent) = self else {
            return self.clone();
        };
        let mut out = Vec::with_capacity(segments.len());
        for (i, &(start, pos)) in segments.iter().enumerate() {
            let end = segments.get(i + 1).map_or(len, |&(next, _)| next);
            let run_end = pos.saturating_add(end.saturating_sub(start));
            out.push((start, self.offset(pos)));
            // This buffer's runs that begin inside [pos, run_end).
            let first = parent.partition_point(|&(p, _)| p <= pos);
            for &(p, at) in parent.iter().skip(first).take_while(|&&(p, _)| p < run_end) {
                out.push((start + (p - pos), at));
            }
        }
        Origin::Segments(out)
    }
}

/// State for one store: where findings go, and what was learnt about its passwords.
struct Store<'d, 's> {
    detector: &'d Detector<'d>,
    sink: &'s mut dyn Sink,
    /// Index of the password that opened a part already; tried first on the next.
    preferred: Option<usize>,
    /// Key derivation iterations that may still be spent.
    work_left: u64,
}

impl Store<'_, '_> {
    /// Reads one ContentInfo of the AuthenticatedSafe, `part`, from a buffer of origin `origin`.
    fn part(&mut self, part: &Tlv<'_>, origin: &Origin) -> Result<(), String> {
        let (content_type, content) = content_info(part)?;
        match content_type {
            OID_DATA => {
                let Octets {
                    value: bytes,
                    segments,
                } = octet_string(content, "the data content", part.offset)?;
                self.safe_contents(&bytes, 0, &origin.within(&segments, bytes.len()), "", 0)
            }
            OID_ENCRYPTED_DATA => {
                let content = content.ok_or("encryptedData has no content")?;
                self.encrypted(&content, origin)
            }
            OID_ENVELOPED_DATA => Err(
                "encrypted to a recipient's public key (envelopedData), which is not supported"
                    .into(),
            ),
            other => Err(format!(
                "content type {} is not data or encryptedData",
                ber::oid_string(other)
            )),
        }
    }

    /// Decrypts an `EncryptedData` (the element inside the ContentInfo's `[0]`) and reads the
    /// SafeContents in it.
    fn encrypted(&mut self, encrypted_data: &Tlv<'_>, origin: &Origin) -> Result<(), String> {
        if encrypted_data.tag != tag::SEQUENCE {
            return Err(format!(
                "EncryptedData has tag 0x{:02x} instead of SEQUENCE",
                encrypted_data.tag
            ));
        }
        let mut fields = encrypted_data.children();
        fields.expect(tag::INTEGER, "the EncryptedData version")?;
        let info = fields.expect(tag::SEQUENCE, "the EncryptedContentInfo")?;
        let mut fields = info.children();
        fields.expect(tag::OID, "the encrypted content type")?;
        let algorithm = fields.expect(tag::SEQUENCE, "the content encryption algorithm")?;
        let encrypted = match fields.next_tlv()? {
            Some(t)
                if t.tag == tag::context_primitive(0) || t.tag == tag::context_constructed(0) =>
            {
                t
            }
            Some(t) => {
                return Err(format!(
                    "encrypted content has tag 0x{:02x} instead of [0]",
                    t.tag
                ));
            }
            None => return Err("encryptedData has no encrypted content".into()),
        };
        let ciphertext = ber::octets(&encrypted)?.value;
        let scheme = Scheme::parse(&algorithm)?;
        let plaintext = self.decrypt(&scheme, &ciphertext)?;
        let at = origin.offset(encrypted.content_offset);
        self.safe_contents(&plaintext, 0, &Origin::Decrypted(at), "", 0)
    }

    /// Tries every password on `ciphertext`; returns the plaintext of the first that opens it.
    fn decrypt(&mut self, scheme: &Scheme<'_>, ciphertext: &[u8]) -> Result<Vec<u8>, String> {
        let name = scheme.name();
        let iterations = scheme.iterations;
        if iterations > MAX_ITERATIONS {
            return Err(format!(
                "encrypted with {name} at {iterations} iterations, over the limit of {MAX_ITERATIONS}"
            ));
        }
        if iterations == 0 {
            return Err(format!("encrypted with {name} at an iteration count of 0"));
        }
        let passwords = self.detector.passwords;
        let order = self
            .preferred
            .into_iter()
            .chain((0..passwords.len()).filter(|&i| Some(i) != self.preferred));
        for index in order {
            let Some(password) = passwords.get(index) else {
                continue;
            };
            for encoded in scheme.password_encodings(password) {
                let cost = iterations * scheme.derivations();
                if self.work_left < cost {
                    return Err(format!(
                        "encrypted with {name}; gave up before trying every password: the key \
                         derivation budget of {WORK_BUDGET} iterations per store is spent"
                    ));
                }
                self.work_left -= cost;
                if let Some(plaintext) = scheme.decrypt(&encoded, ciphertext)
                    && read_bags(&plaintext, 0).is_ok()
                {
                    self.preferred = Some(index);
                    return Ok(plaintext);
                }
            }
        }
        Err(format!(
            "encrypted ({name}) with a password that is not known (tried {})",
            describe_passwords(passwords)
        ))
    }

    /// Reports the certificates of the SafeContents at `base` in `bytes` (a buffer of origin
    /// `origin`); `path` numbers enclosing bags in messages.
    fn safe_contents(
        &mut self,
        bytes: &[u8],
        base: usize,
        origin: &Origin,
        path: &str,
        depth: u32,
    ) -> Result<(), String> {
        let bags = read_bags(bytes, base)?;
        for (i, bag) in bags.iter().enumerate() {
            let label = format!("{path}bag {}", i + 1);
            let result = match bag.kind {
                BAG_CERT => self.cert_bag(&bag.value, origin),
                BAG_SAFE_CONTENTS if depth >= MAX_BAG_NESTING => Err(format!(
                    "safeContentsBags nest deeper than {MAX_BAG_NESTING} levels"
                )),
                BAG_SAFE_CONTENTS => self.safe_contents(
                    bag.value.raw,
                    bag.value.offset,
                    origin,
                    &format!("{label}: "),
                    depth + 1,
                ),
                // Key bags, CRL bags, secret bags and unknown bag types hold no certificate.
                _ => Ok(()),
            };
            if let Err(reason) = result {
                self.sink.partial(
                    origin.offset(bag.offset) as u64,
                    Parser::Pkcs12,
                    format!("{label}: {reason}"),
                );
            }
        }
        Ok(())
    }

    /// Reports the certificate of a `CertBag` SEQUENCE.
    fn cert_bag(&mut self, cert_bag: &Tlv<'_>, origin: &Origin) -> Result<(), String> {
        if cert_bag.tag != tag::SEQUENCE {
            return Err(format!(
                "certBag has tag 0x{:02x} instead of SEQUENCE",
                cert_bag.tag
            ));
        }
        let mut fields = cert_bag.children();
        let cert_type = fields.expect(tag::OID, "the certificate type")?;
        let value = fields.expect(tag::context_constructed(0), "the certificate value")?;
        match cert_type.content {
            OID_X509_CERTIFICATE => {}
            OID_SDSI_CERTIFICATE => return Err("holds an SDSI certificate, not X.509".into()),
            other => {
                return Err(format!(
                    "holds a certificate of type {}",
                    ber::oid_string(other)
                ));
            }
        }
        let inner = value.children().next_tlv()?;
        let Octets {
            value: der,
            segments,
        } = octet_string(inner, "the certificate value", cert_bag.offset)?;
        let pos = segments
            .first()
            .map_or(value.content_offset, |&(_, pos)| pos);
        let at = origin.offset(pos) as u64;
        let cert = self
            .detector
            .cache
            .get_or_parse(&der)
            .map_err(|e| e.to_string())?;
        self.sink.certificate(cert, at, Parser::Pkcs12);
        Ok(())
    }
}

/// The content type and the element inside `[0] EXPLICIT` (if any) of a ContentInfo.
fn content_info<'a>(content_info: &Tlv<'a>) -> Result<(&'a [u8], Option<Tlv<'a>>), String> {
    if content_info.tag != tag::SEQUENCE {
        return Err(format!(
            "ContentInfo at offset {} has tag 0x{:02x} instead of SEQUENCE",
            content_info.offset, content_info.tag
        ));
    }
    let mut fields = content_info.children();
    let content_type = fields.expect(tag::OID, "the content type")?;
    let content = match fields.optional(tag::context_constructed(0))? {
        Some(explicit) => explicit.children().next_tlv()?,
        None => None,
    };
    Ok((content_type.content, content))
}

/// The value of the OCTET STRING `tlv` (primitive or constructed), which `what` names; `parent`
/// is the offset of the element that should hold it.
fn octet_string<'a>(tlv: Option<Tlv<'a>>, what: &str, parent: usize) -> Result<Octets<'a>, String> {
    match tlv {
        Some(t) if t.tag == tag::OCTET_STRING || t.tag == tag::OCTET_STRING_CONSTRUCTED => {
            ber::octets(&t)
        }
        Some(t) => Err(format!(
            "{what} at offset {} has tag 0x{:02x} instead of OCTET STRING",
            t.offset, t.tag
        )),
        None => Err(format!(
            "{what} of the element at offset {parent} is missing"
        )),
    }
}

/// One SafeBag: its type (the last arc of its OID under 1.2.840.113549.1.12.10.1, 0 if another
/// OID), its value and where it starts.
struct Bag<'a> {
    kind: u8,
    value: Tlv<'a>,
    offset: usize,
}

/// Reads the shape of the SafeContents that fills `bytes` (whose first byte is at position `base`
/// of its buffer): a SEQUENCE of `SEQUENCE { OID, [0] value, … }`, with nothing after it.
fn read_bags(bytes: &[u8], base: usize) -> Result<Vec<Bag<'_>>, String> {
    let mut top = Reader::new(bytes, base);
    let contents = top.expect(tag::SEQUENCE, "the SafeContents SEQUENCE")?;
    if !top.is_empty() {
        return Err(format!(
            "{} bytes follow the SafeContents",
            bytes.len() - contents.raw.len()
        ));
    }
    let mut bags = Vec::new();
    let mut reader = contents.children();
    while let Some(bag) = reader.next_tlv()? {
        if bag.tag != tag::SEQUENCE {
            return Err(format!(
                "SafeBag at offset {} has tag 0x{:02x} instead of SEQUENCE",
                bag.offset, bag.tag
            ));
        }
        let mut fields = bag.children();
        let id = fields.expect(tag::OID, "the SafeBag type")?;
        let explicit = fields.expect(tag::context_constructed(0), "the SafeBag value")?;
        let value = explicit
            .children()
            .next_tlv()?
            .ok_or_else(|| format!("SafeBag at offset {} has an empty value", bag.offset))?;
        let kind = match id.content.strip_prefix(OID_BAG_TYPES) {
            Some(&[n]) => n,
            _ => 0,
        };
        bags.push(Bag {
            kind,
            value,
            offset: bag.offset,
        });
    }
    Ok(bags)
}

/// A password-based encryption scheme and its parameters, as found in a store.
struct Scheme<'a> {
    kdf: Kdf,
    cipher: Cipher,
    salt: &'a [u8],
    iterations: u64,
    /// The IV for PBES2; the PKCS#12 schemes derive theirs from the password.
    iv: Option<&'a [u8]>,
}

/// How the key is derived from the password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kdf {
    /// PBKDF2 (PBES2) with this HMAC hash.
    Pbkdf2(Hash),
    /// The PKCS#12 key derivation (RFC 7292 appendix B) with SHA-1.
    Pkcs12,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Hash {
    Sha1,
    Sha224,
    Sha256,
    Sha384,
    Sha512,
}

impl Hash {
    fn name(self) -> &'static str {
        match self {
            Hash::Sha1 => "SHA1",
            Hash::Sha224 => "SHA224",
            Hash::Sha256 => "SHA256",
            Hash::Sha384 => "SHA384",
            Hash::Sha512 => "SHA512",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cipher {
    Aes128,
    Aes192,
    Aes256,
    DesEde3,
    DesEde2,
    /// RC2 with this key length in bytes (also its effective key bits / 8).
    Rc2(usize),
}

impl Cipher {
    fn key_len(self) -> usize {
        match self {
            Cipher::Aes128 | Cipher::DesEde2 => 16,
            Cipher::Aes192 | Cipher::DesEde3 => 24,
            Cipher::Aes256 => 32,
            Cipher::Rc2(len) => len,
        }
    }

    fn block_len(self) -> usize {
        match self {
            Cipher::Aes128 | Cipher::Aes192 | Cipher::Aes256 => 16,
            Cipher::DesEde3 | Cipher::DesEde2 | Cipher::Rc2(_) => 8,
        }
    }

    fn name(self) -> String {
        match self {
            Cipher::Aes128 => "AES-128-CBC".into(),
            Cipher::Aes192 => "AES-192-CBC".into(),
            Cipher::Aes256 => "AES-256-CBC".into(),
            Cipher::DesEde3 => "DES-EDE3-CBC".into(),
            Cipher::DesEde2 => "DES-EDE2-CBC".into(),
            Cipher::Rc2(len) => format!("RC2-{}-CBC", len * 8),
        }
    }

    /// CBC-decrypts and unpads `ciphertext`; `None` if the key, IV or padding is wrong.
    fn decrypt(self, key: &[u8], iv: &[u8], ciphertext: &[u8]) -> Option<Vec<u8>> {
        fn cbc<C: BlockDecryptMut + BlockCipher>(
            cipher: C,
            iv: &[u8],
            data: &[u8],
        ) -> Option<Vec<u8>> {
            let decryptor = cbc::Decryptor::<C>::inner_iv_slice_init(cipher, iv).ok()?;
            decryptor.decrypt_padded_vec_mut::<Pkcs7>(data).ok()
        }
        if ciphertext.is_empty()
            || !ciphertext.len().is_multiple_of(self.block_len())
            || key.len() != self.key_len()
        {
            return None;
        }
        match self {
            Cipher::Aes128 => cbc(Aes128::new_from_slice(key).ok()?, iv, ciphertext),
            Cipher::Aes192 => cbc(Aes192::new_from_slice(key).ok()?, iv, ciphertext),
            Cipher::Aes256 => cbc(Aes256::new_from_slice(key).ok()?, iv, ciphertext),
            Cipher::DesEde3 => cbc(TdesEde3::new_from_slice(key).ok()?, iv, ciphertext),
            Cipher::DesEde2 => cbc(TdesEde2::new_from_slice(key).ok()?, iv, ciphertext),
            Cipher::Rc2(len) => cbc(Rc2::new_with_eff_key_len(key, len * 8), iv, ciphertext),
        }
    }
}

impl<'a> Scheme<'a> {
    /// Reads a content encryption AlgorithmIdentifier.
    fn parse(algorithm: &Tlv<'a>) -> Result<Scheme<'a>, String> {
        let mut fields = algorithm.children();
        let oid = fields.expect(tag::OID, "the encryption algorithm")?.content;
        let params = fields.next_tlv()?;
        if oid == OID_PBES2 {
            return Self::pbes2(params.ok_or("PBES2 without parameters")?);
        }
        let pkcs12_cipher = match oid.strip_prefix(OID_PKCS12_PBE) {
            Some(&[3]) => Some(Cipher::DesEde3),
            Some(&[4]) => Some(Cipher::DesEde2),
            Some(&[5]) => Some(Cipher::Rc2(16)),
            Some(&[6]) => Some(Cipher::Rc2(5)),
            _ => None,
        };
        let Some(cipher) = pkcs12_cipher else {
            return Err(format!(
                "encrypted with {}, which is not supported",
                algorithm_name(oid)
            ));
        };
        // pkcs-12PbeParams ::= SEQUENCE { salt OCTET STRING, iterations INTEGER }
        let params = params
            .filter(|p| p.tag == tag::SEQUENCE)
            .ok_or("PKCS#12 PBE parameters are missing")?;
        let mut fields = params.children();
        let salt = fields.expect(tag::OCTET_STRING, "the PBE salt")?.content;
        let iterations = iteration_count(&fields.expect(tag::INTEGER, "the PBE iteration count")?)?;
        Ok(Scheme {
            kdf: Kdf::Pkcs12,
            cipher,
            salt,
            iterations,
            iv: None,
        })
    }

    /// Reads PBES2-params: `SEQUENCE { keyDerivationFunc, encryptionScheme }`.
    fn pbes2(params: Tlv<'a>) -> Result<Scheme<'a>, String> {
        if params.tag != tag::SEQUENCE {
            return Err("PBES2 parameters are not a SEQUENCE".into());
        }
        let mut fields = params.children();
        let kdf = fields.expect(tag::SEQUENCE, "the PBES2 key derivation function")?;
        let scheme = fields.expect(tag::SEQUENCE, "the PBES2 encryption scheme")?;

        let mut kdf_fields = kdf.children();
        let kdf_oid = kdf_fields
            .expect(tag::OID, "the PBES2 key derivation OID")?
            .content;
        if kdf_oid != OID_PBKDF2 {
            return Err(format!(
                "PBES2 with key derivation {}, which is not supported",
                algorithm_name(kdf_oid)
            ));
        }
        // PBKDF2-params ::= SEQUENCE { salt, iterationCount, keyLength OPTIONAL, prf DEFAULT hmacWithSHA1 }
        let mut pbkdf2 = kdf_fields
            .expect(tag::SEQUENCE, "the PBKDF2 parameters")?
            .children();
        let salt = pbkdf2.expect(
            tag::OCTET_STRING,
            "the PBKDF2 salt (only a specified salt is supported)",
        )?;
        let iterations =
            iteration_count(&pbkdf2.expect(tag::INTEGER, "the PBKDF2 iteration count")?)?;
        let key_len = pbkdf2.optional(tag::INTEGER)?.map(|t| t.uint());
        let hash = match pbkdf2.optional(tag::SEQUENCE)? {
            None => Hash::Sha1,
            Some(prf) => {
                let prf_oid = prf.children().expect(tag::OID, "the PBKDF2 PRF")?.content;
                match prf_oid.strip_prefix(OID_HMAC) {
                    Some(&[7]) => Hash::Sha1,
                    Some(&[8]) => Hash::Sha224,
                    Some(&[9]) => Hash::Sha256,
                    Some(&[10]) => Hash::Sha384,
                    Some(&[11]) => Hash::Sha512,
                    _ => {
                        return Err(format!(
                            "PBKDF2 with PRF {}, which is not supported",
                            algorithm_name(prf_oid)
                        ));
                    }
                }
            }
        };

        let mut scheme_fields = scheme.children();
        let cipher_oid = scheme_fields.expect(tag::OID, "the PBES2 cipher")?.content;
        let cipher = match cipher_oid.strip_prefix(OID_AES) {
            Some(&[2]) => Cipher::Aes128,
            Some(&[22]) => Cipher::Aes192,
            Some(&[42]) => Cipher::Aes256,
            _ if cipher_oid == OID_DES_EDE3_CBC => Cipher::DesEde3,
            _ => {
                return Err(format!(
                    "PBES2 with cipher {}, which is not supported",
                    algorithm_name(cipher_oid)
                ));
            }
        };
        let iv = scheme_fields
            .expect(tag::OCTET_STRING, "the PBES2 IV")?
            .content;
        if iv.len() != cipher.block_len() {
            return Err(format!(
                "PBES2 IV of {} bytes for {}",
                iv.len(),
                cipher.name()
            ));
        }
        if let Some(key_len) = key_len
            && key_len != u64::try_from(cipher.key_len()).ok()
        {
            {
                return Err(format!(
                    "PBKDF2 key length does not match {}",
                    cipher.name()
                ));
            }
        }
        Ok(Scheme {
            kdf: Kdf::Pbkdf2(hash),
            cipher,
            salt: salt.content,
            iterations,
            iv: Some(iv),
        })
    }

    /// How many key derivations one attempt takes: PBES2 derives a key; the PKCS#12 schemes
    /// derive a key and an IV.
    fn derivations(&self) -> u64 {
        match self.kdf {
            Kdf::Pbkdf2(_) => 1,
            Kdf::Pkcs12 => 2,
        }
    }

    /// Name for messages: `PBES2 with HMAC-SHA256 and AES-256-CBC`, `pbeWithSHAAnd40BitRC2-CBC`.
    fn name(&self) -> String {
        match self.kdf {
            Kdf::Pbkdf2(hash) => {
                format!("PBES2 with HMAC-{} and {}", hash.name(), self.cipher.name())
            }
            Kdf::Pkcs12 => match self.cipher {
                Cipher::DesEde3 => "pbeWithSHAAnd3-KeyTripleDES-CBC".into(),
                Cipher::DesEde2 => "pbeWithSHAAnd2-KeyTripleDES-CBC".into(),
                Cipher::Rc2(5) => "pbeWithSHAAnd40BitRC2-CBC".into(),
                other => format!("pbeWithSHAAnd{}BitRC2-CBC", other.key_len() * 8),
            },
        }
    }

    /// The byte strings to try for `password`: UTF-8 for PBKDF2; for the PKCS#12 derivation a
    /// BMPString with its terminator and, for the empty password, also no bytes at all.
    fn password_encodings(&self, password: &str) -> Vec<Vec<u8>> {
        match self.kdf {
            Kdf::Pbkdf2(_) => vec![password.as_bytes().to_vec()],
            Kdf::Pkcs12 => {
                let mut bmp: Vec<u8> = password.encode_utf16().flat_map(u16::to_be_bytes).collect();
                bmp.extend_from_slice(&[0, 0]);
                if password.is_empty() {
                    vec![bmp, Vec::new()]
                } else {
                    vec![bmp]
                }
            }
        }
    }

    /// Decrypts `ciphertext` with the encoded password; `None` if the padding is wrong.
    fn decrypt(&self, password: &[u8], ciphertext: &[u8]) -> Option<Vec<u8>> {
        let key_len = self.cipher.key_len();
        // Iterations were checked against MAX_ITERATIONS, so they fit in u32.
        let rounds = u32::try_from(self.iterations).ok()?;
        match self.kdf {
            Kdf::Pbkdf2(hash) => {
                let mut key = vec![0u8; key_len];
                match hash {
                    Hash::Sha1 => {
                        pbkdf2::pbkdf2_hmac::<Sha1>(password, self.salt, rounds, &mut key)
                    }
                    Hash::Sha224 => {
                        pbkdf2::pbkdf2_hmac::<Sha224>(password, self.salt, rounds, &mut key)
                    }
                    Hash::Sha256 => {
                        pbkdf2::pbkdf2_hmac::<Sha256>(password, self.salt, rounds, &mut key)
                    }
                    Hash::Sha384 => {
                        pbkdf2::pbkdf2_hmac::<Sha384>(password, self.salt, rounds, &mut key)
                    }
                    Hash::Sha512 => {
                        pbkdf2::pbkdf2_hmac::<Sha512>(password, self.salt, rounds, &mut key)
                    }
                }
                self.cipher.decrypt(&key, self.iv?, ciphertext)
            }
            Kdf::Pkcs12 => {
                let key = pkcs12_kdf(password, self.salt, 1, rounds, key_len);
                let iv = pkcs12_kdf(password, self.salt, 2, rounds, self.cipher.block_len());
                self.cipher.decrypt(&key, &iv, ciphertext)
            }
        }
    }
}

/// A positive iteration count.
fn iteration_count(tlv: &Tlv<'_>) -> Result<u64, String> {
    tlv.uint().ok_or_else(|| {
        format!(
            "iteration count 0x{} is not a usable number",
            hex::encode(tlv.content)
        )
    })
}

/// Names the encryption algorithms seen in real stores that are not supported; others by OID.
fn algorithm_name(oid: &[u8]) -> String {
    const PBES1: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x05];
    let name = match (oid.strip_prefix(OID_PKCS12_PBE), oid.strip_prefix(PBES1)) {
        (Some(&[1]), _) => "pbeWithSHAAnd128BitRC4",
        (Some(&[2]), _) => "pbeWithSHAAnd40BitRC4",
        (_, Some(&[3])) => "pbeWithMD5AndDES-CBC",
        (_, Some(&[6])) => "pbeWithMD5AndRC2-CBC",
        (_, Some(&[10])) => "pbeWithSHA1AndDES-CBC",
        (_, Some(&[11])) => "pbeWithSHA1AndRC2-CBC",
        _ => return ber::oid_string(oid),
    };
    name.to_string()
}

/// The PKCS#12 key derivation with SHA-1 (RFC 7292 appendix B.2): `id` 1 for a key, 2 for an IV,
/// 3 for a MAC key. `password` is already encoded (BMPString with terminator, or empty).
fn pkcs12_kdf(password: &[u8], salt: &[u8], id: u8, iterations: u32, len: usize) -> Vec<u8> {
    const V: usize = 64; // SHA-1 block size
    const U: usize = 20; // SHA-1 output size
    let diversifier = [id; V];
    let fill = |s: &[u8]| -> Vec<u8> {
        s.iter()
            .copied()
            .cycle()
            .take(s.len().div_ceil(V) * V)
            .collect()
    };
    let mut input = fill(salt);
    input.extend(fill(password));
    let mut out = Vec::with_capacity(len);
    loop {
        let mut a: [u8; U] = Sha1::new()
            .chain_update(diversifier)
            .chain_update(&input)
            .finalize()
            .into();
        for _ in 1..iterations {
            a = Sha1::digest(a).into();
        }
        let wanted = len - out.len();
        out.extend(a.iter().take(wanted));
        if out.len() >= len {
            return out;
        }
        // I_j = (I_j + B + 1) mod 2^v for each v-bit block I_j of I, where B is A repeated.
        let b: Vec<u8> = a.iter().copied().cycle().take(V).collect();
        for block in input.chunks_exact_mut(V) {
            let mut carry = 1u16;
            for (x, y) in block.iter_mut().zip(&b).rev() {
                let sum = u16::from(*x) + u16::from(*y) + carry;
                *x = sum as u8;
                carry = sum >> 8;
            }
        }
    }
}

/// Describes the passwords tried without revealing any the user supplied: the defaults by name,
/// the others by count (`the empty password, "changeit" and 1 other password`).
fn describe_passwords(passwords: &[String]) -> String {
    let mut named: Vec<String> = Vec::new();
    let mut others = 0usize;
    for password in passwords {
        if password.is_empty() {
            named.push("the empty password".into());
        } else if DEFAULT_PKCS12_PASSWORDS.contains(&password.as_str()) {
            named.push(format!("{password:?}"));
        } else {
            others += 1;
        }
    }
    match others {
        0 => {}
        1 => named.push("1 other password".into()),
        n => named.push(format!("{n} other passwords")),
    }
    match named.split_last() {
        None => "no password".into(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::detect::testing;
    use crate::detect::testing::{
        cut_points, fingerprints, issued, read, run, run_merged, self_signed, sorted,
    };

    /// A CA and a leaf issued by it, with the leaf's key, in `dir`; returns their fingerprints.
    fn chain(dir: &Path) -> Vec<String> {
        let ca = self_signed(dir, "ca");
        let leaf = issued(dir, "leaf", "ca");
        sorted(&[ca, leaf])
    }

    /// `openssl pkcs12 -export` of leaf, key and CA into `out`, with `extra` arguments.
    fn export(dir: &Path, out: &str, extra: &str) -> Vec<u8> {
        let args = format!(
            "pkcs12 -export -inkey leaf.key -in leaf.pem -certfile ca.pem -out {out} {extra}"
        );
        run(dir, "openssl", &args);
        read(dir, out)
    }

    /// Fingerprints of everything reported, checking that the PKCS#12 reader reported it.
    fn pkcs12_fingerprints(rec: &testing::Recorder) -> Vec<String> {
        assert!(rec.certs.iter().all(|c| c.2 == Parser::Pkcs12), "{rec:?}");
        sorted(&rec.certs.iter().map(|c| c.3.clone()).collect::<Vec<_>>())
    }

    /// Checks that every certificate reported sits in `data` at its offset.
    fn assert_offsets(data: &[u8], rec: &testing::Recorder) {
        for (_, offset, _, sha256) in &rec.certs {
            let at = usize::try_from(*offset).unwrap();
            let len = crate::cert::der_object_len(&data[at..]).expect("a DER object at the offset");
            assert_eq!(hex::encode(Sha256::digest(&data[at..at + len])), *sha256);
        }
    }

    /// How openssl says the certificates of `file` are protected (`PKCS7 Encrypted data: …`).
    fn protection(dir: &Path, file: &str, password: &str) -> String {
        let args = format!("pkcs12 -info -noout -legacy -in {file} -passin pass:{password}");
        let out = run_merged(dir, "openssl", &args);
        let text = String::from_utf8_lossy(&out);
        text.lines()
            .filter(|l| l.starts_with("PKCS7"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// Exports `file` with `extra` arguments, checks that openssl protected its certificates with
    /// `scheme`, and that the scan finds exactly the `expected` certificates and no partial.
    fn assert_opens(
        dir: &Path,
        file: &str,
        extra: &str,
        scheme: &str,
        expected: &[String],
    ) -> testing::Recorder {
        let data = export(dir, file, extra);
        let password = extra
            .split_whitespace()
            .find_map(|a| a.strip_prefix("pass:"));
        let protected = protection(dir, file, password.unwrap_or_default());
        assert!(
            protected.contains(scheme),
            "{file}: expected {scheme}, openssl says {protected}"
        );
        let rec = testing::scan(&data);
        assert_eq!(pkcs12_fingerprints(&rec), expected, "{file}: {rec:?}");
        assert!(rec.partials.is_empty(), "{file}: {:?}", rec.partials);
        rec
    }

    #[test]
    fn openssl_stores_with_known_passwords() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let expected = chain(d);
        let cases = [
            // OpenSSL 3's default.
            (
                "default-empty.p12",
                "-passout pass:",
                "PBES2, PBKDF2, AES-256-CBC, Iteration 2048, PRF hmacWithSHA256",
            ),
            (
                "default-changeit.p12",
                "-passout pass:changeit",
                "PBES2, PBKDF2, AES-256-CBC",
            ),
            (
                "legacy-empty.p12",
                "-legacy -passout pass:",
                "pbeWithSHA1And40BitRC2-CBC",
            ),
            (
                "legacy-changeit.p12",
                "-legacy -passout pass:changeit",
                "pbeWithSHA1And40BitRC2-CBC",
            ),
            (
                "rc2-128.p12",
                "-legacy -certpbe PBE-SHA1-RC2-128 -passout pass:",
                "pbeWithSHA1And128BitRC2-CBC",
            ),
            (
                "3des.p12",
                "-certpbe PBE-SHA1-3DES -passout pass:changeit",
                "pbeWithSHA1And3-KeyTripleDES-CBC",
            ),
            (
                "pbes2-3des.p12",
                "-certpbe DES-EDE3-CBC -passout pass:",
                "PBES2, PBKDF2, DES-EDE3-CBC",
            ),
            (
                "pbes2-aes128.p12",
                "-certpbe AES-128-CBC -passout pass:changeit",
                "PBES2, PBKDF2, AES-128-CBC",
            ),
        ];
        for (file, extra, scheme) in cases {
            assert_opens(d, file, extra, scheme, &expected);
        }
    }

    #[test]
    fn certificates_in_clear_are_reported_where_they_sit() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let expected = chain(d);
        let extra = "-certpbe NONE -passout pass:s3cret-unknown";
        let rec = assert_opens(d, "clear.p12", extra, "PKCS7 Data", &expected);
        assert_offsets(&read(d, "clear.p12"), &rec);
    }

    #[test]
    fn unknown_password_is_a_partial_and_never_a_certificate() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        chain(d);
        for (file, extra) in [
            ("aes.p12", "-passout pass:s3cret"),
            ("legacy.p12", "-legacy -passout pass:s3cret"),
        ] {
            let rec = testing::scan(&export(d, file, extra));
            assert!(rec.certs.is_empty(), "{file}: {:?}", rec.certs);
            assert_eq!(rec.partials.len(), 1, "{file}: {:?}", rec.partials);
            let (_, _, parser, reason) = &rec.partials[0];
            assert_eq!(*parser, Parser::Pkcs12);
            let tried = "password that is not known (tried the empty password and \"changeit\")";
            assert!(reason.contains(tried), "{file}: {reason}");
        }
    }

    #[test]
    fn the_password_list_comes_from_the_detector() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let expected = chain(d);
        let data = export(d, "s.p12", "-passout pass:s3cret");
        let cache = crate::cert::CertCache::new();
        let limits = crate::detect::Limits::default();
        let scan_with = |passwords: &[&str]| {
            let passwords: Vec<String> = passwords.iter().map(|p| p.to_string()).collect();
            let detector = Detector {
                cache: &cache,
                limits: &limits,
                passwords: &passwords,
            };
            let mut rec = testing::Recorder::default();
            assert_eq!(scan(&detector, &data, &mut rec), Ok(()));
            rec
        };

        let rec = scan_with(&["wrong", "s3cret"]);
        assert_eq!(pkcs12_fingerprints(&rec), expected);
        assert!(rec.partials.is_empty(), "{:?}", rec.partials);

        let rec = scan_with(&["", "hunter2", "x"]);
        assert!(rec.certs.is_empty());
        let reason = &rec.partials[0].3;
        assert!(
            reason.ends_with("(tried the empty password and 2 other passwords)"),
            "{reason}"
        );
        assert!(
            !reason.contains("hunter2"),
            "a user's password leaked into a report: {reason}"
        );
    }

    /// `keytool -list -v` fingerprints of a store whose password is `changeit`.
    fn keytool_fingerprints(dir: &Path, store: &str) -> Vec<String> {
        let args = format!("-list -v -keystore {store} -storetype PKCS12 -storepass changeit");
        sorted(&fingerprints(&run(dir, "keytool", &args), "SHA256:"))
    }

    #[test]
    fn keytool_stores() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        self_signed(d, "ca1");
        self_signed(d, "ca2");
        // Truststores with JDK 17's default certificate protection (PBES2 with HMAC-SHA256 and
        // AES-256), older Java's (pbeWithSHAAnd40BitRC2-CBC), and PBES2 with HMAC-SHA1.
        for (store, property, scheme) in [
            (
                "trust.p12",
                "",
                "PBES2, PBKDF2, AES-256-CBC, Iteration 10000, PRF hmacWithSHA256",
            ),
            (
                "trust-rc2.p12",
                "-J-Dkeystore.pkcs12.certProtectionAlgorithm=PBEWithSHA1AndRC2_40",
                "pbeWithSHA1And40BitRC2-CBC",
            ),
            (
                "trust-sha1.p12",
                "-J-Dkeystore.pkcs12.certProtectionAlgorithm=PBEWithHmacSHA1AndAES_128",
                "PBES2, PBKDF2, AES-128-CBC, Iteration 10000, PRF hmacWithSHA1",
            ),
        ] {
            for ca in ["ca1", "ca2"] {
                let args = format!(
                    "{property} -importcert -noprompt -alias {ca} -file {ca}.pem -keystore {store} \
                     -storetype PKCS12 -storepass changeit"
                );
                run(d, "keytool", &args);
            }
            let protected = protection(d, store, "changeit");
            assert!(
                protected.contains(scheme),
                "{store}: expected {scheme}, openssl says {protected}"
            );
            let expected = keytool_fingerprints(d, store);
            assert_eq!(expected.len(), 2, "keytool listed {expected:?}");
            let rec = testing::scan(&read(d, store));
            assert_eq!(pkcs12_fingerprints(&rec), expected, "{store}: {rec:?}");
            assert!(rec.partials.is_empty(), "{store}: {:?}", rec.partials);
        }

        // A keystore with a private key entry.
        run(
            d,
            "keytool",
            "-genkeypair -alias server -keyalg EC -groupname secp256r1 -dname CN=server \
             -validity 30 -keystore keys.p12 -storetype PKCS12 -storepass changeit",
        );
        let expected = keytool_fingerprints(d, "keys.p12");
        assert_eq!(expected.len(), 1);
        let rec = testing::scan(&read(d, "keys.p12"));
        assert_eq!(pkcs12_fingerprints(&rec), expected, "{rec:?}");
        assert!(rec.partials.is_empty(), "{:?}", rec.partials);
    }

    #[test]
    fn truncated_stores_never_panic_or_invent_certificates() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let known = chain(d);
        for (file, extra) in [
            ("aes.p12", "-passout pass:"),
            ("legacy.p12", "-legacy -passout pass:changeit"),
            ("clear.p12", "-certpbe NONE -passout pass:"),
        ] {
            let full = export(d, file, extra);
            for cut in cut_points(full.len()) {
                let rec = testing::scan(&full[..cut]);
                for c in &rec.certs {
                    assert!(
                        known.contains(&c.3),
                        "{file} cut at {cut}: unknown certificate {c:?}"
                    );
                }
                // Once the start is recognisable as PKCS#12, the damage is reported.
                if cut >= 24 {
                    assert!(!rec.partials.is_empty(), "{file} cut at {cut}: no partial");
                }
            }
            // Damage anywhere must not panic. (A flipped byte inside a certificate, in clear or
            // encrypted, can yield that damaged certificate: it is what the store holds. The MAC
            // would tell, but it is not checked.)
            for at in (0..full.len()).step_by(full.len() / 48 + 1) {
                let mut damaged = full.clone();
                damaged[at] ^= 0x5a;
                testing::scan(&damaged);
            }
        }
    }

    /// `openssl kdf … PKCS12KDF` with SHA-1 and the password given as raw bytes.
    fn openssl_pkcs12_kdf(
        dir: &Path,
        password: &[u8],
        salt: &[u8],
        id: u8,
        iterations: u32,
        len: usize,
    ) -> Vec<u8> {
        let (password, salt) = (hex::encode(password), hex::encode(salt));
        let args = format!(
            "kdf -keylen {len} -kdfopt digest:SHA1 -kdfopt hexpass:{password} \
             -kdfopt hexsalt:{salt} -kdfopt iter:{iterations} -kdfopt id:{id} PKCS12KDF"
        );
        let out = run(dir, "openssl", &args);
        let text: String = String::from_utf8_lossy(&out)
            .trim()
            .chars()
            .filter(|&c| c != ':')
            .collect();
        hex::decode(text).expect("openssl kdf prints hex")
    }

    #[test]
    fn pkcs12_kdf_matches_openssl() {
        let dir = tempfile::tempdir().unwrap();
        let bmp_changeit: Vec<u8> = "changeit\0"
            .encode_utf16()
            .flat_map(u16::to_be_bytes)
            .collect();
        // (password, salt, id, iterations, length)
        type Case<'a> = (&'a [u8], &'a [u8], u8, u32, usize);
        let cases: [Case<'_>; 6] = [
            (&[0, 0], &[1, 2, 3, 4, 5, 6, 7, 8], 1, 2048, 24),
            (&[], &[1, 2, 3, 4, 5, 6, 7, 8], 1, 2048, 24),
            (&[0, 0], &[9; 20], 2, 1, 8),
            (&bmp_changeit, &[7; 20], 1, 1000, 16),
            (&bmp_changeit, &[7; 20], 3, 5, 20),
            // A salt and password that fill several blocks, to exercise the carry arithmetic.
            (&[0xff; 130], &[0xff; 70], 1, 3, 64),
        ];
        for (password, salt, id, iterations, len) in cases {
            let expected = openssl_pkcs12_kdf(dir.path(), password, salt, id, iterations, len);
            assert_eq!(pkcs12_kdf(password, salt, id, iterations, len), expected);
        }
    }

    /// A DER element with a definite length.
    fn der(tag: u8, content: &[u8]) -> Vec<u8> {
        let mut out = vec![tag];
        let len = content.len().to_be_bytes();
        match content.len() {
            n if n < 0x80 => out.push(len[7]),
            n if n < 0x100 => out.extend_from_slice(&[0x81, len[7]]),
            _ => out.extend_from_slice(&[0x82, len[6], len[7]]),
        }
        out.extend_from_slice(content);
        out
    }

    /// Exports leaf and CA certificates in clear with openssl; returns the AuthenticatedSafe and
    /// the SafeContents inside it, as openssl encoded them.
    fn clear_store_parts(d: &Path) -> (Vec<u8>, Vec<u8>) {
        run(
            d,
            "openssl",
            "pkcs12 -export -nokeys -in leaf.pem -certfile ca.pem -certpbe NONE -passout pass: \
             -out clear.p12",
        );
        let clear = read(d, "clear.p12");
        let pfx = Reader::new(&clear, 0).next_tlv().unwrap().unwrap();
        let mut fields = pfx.children();
        fields.next_tlv().unwrap();
        let (_, content) = content_info(&fields.next_tlv().unwrap().unwrap()).unwrap();
        let safe = octet_string(content, "authSafe", 0).unwrap().value;
        let list = Reader::new(&safe, 0).next_tlv().unwrap().unwrap();
        let (_, content) = content_info(&list.children().next_tlv().unwrap().unwrap()).unwrap();
        let plaintext = octet_string(content, "data", 0).unwrap().value;
        (safe.to_vec(), plaintext.to_vec())
    }

    #[test]
    fn ber_store_with_constructed_octet_strings() {
        // openssl's AuthenticatedSafe, re-wrapped in indefinite lengths and a constructed OCTET
        // STRING of two chunks, as BER writers do: certificates are still reported where their DER
        // sits in the file.
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let expected = chain(d);
        let (safe, _) = clear_store_parts(d);
        let (head, tail) = safe.split_at(40);
        let store = [
            &[0x30, 0x80][..],
            &der(tag::INTEGER, &[3]),
            &[0x30, 0x80],
            &der(tag::OID, OID_DATA),
            &[0xa0, 0x80, 0x24, 0x80],
            &der(tag::OCTET_STRING, head),
            &der(tag::OCTET_STRING, tail),
            &[0; 8],
        ]
        .concat();
        let rec = testing::scan(&store);
        assert_eq!(pkcs12_fingerprints(&rec), expected, "{rec:?}");
        assert!(rec.partials.is_empty(), "{:?}", rec.partials);
        assert_offsets(&store, &rec);
    }

    #[test]
    fn empty_password_encoded_as_no_bytes() {
        // OpenSSL 3 encodes the empty password as a two-byte terminator; other writers (a NULL
        // password in OpenSSL's API, some Windows exports) use no bytes at all. Build such a store
        // from openssl's own pieces: the SafeContents of a clear store, encrypted with
        // pbeWithSHAAnd3-KeyTripleDES-CBC under a key and IV from `openssl kdf PKCS12KDF` with an
        // empty password, wrapped by hand.
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let expected = chain(d);
        let (_, plaintext) = clear_store_parts(d);
        std::fs::write(d.join("plain.der"), &plaintext).unwrap();
        let salt = [0x5a; 8];
        let key = hex::encode(openssl_pkcs12_kdf(d, b"", &salt, 1, 2048, 24));
        let iv = hex::encode(openssl_pkcs12_kdf(d, b"", &salt, 2, 2048, 8));
        let args = format!("enc -des-ede3-cbc -K {key} -iv {iv} -in plain.der -out cipher.bin");
        run(d, "openssl", &args);
        let ciphertext = read(d, "cipher.bin");

        let oid = |content: &[u8]| der(tag::OID, content);
        let seq = |parts: &[Vec<u8>]| der(tag::SEQUENCE, &parts.concat());
        let pbe_3des = [OID_PKCS12_PBE, &[3]].concat();
        let params = seq(&[
            der(tag::OCTET_STRING, &salt),
            der(tag::INTEGER, &[0x08, 0x00]),
        ]);
        let algorithm = seq(&[oid(&pbe_3des), params]);
        let info = seq(&[oid(OID_DATA), algorithm, der(0x80, &ciphertext)]);
        let encrypted_data = seq(&[der(tag::INTEGER, &[0]), info]);
        let auth_safe = seq(&[seq(&[oid(OID_ENCRYPTED_DATA), der(0xa0, &encrypted_data)])]);
        let content = seq(&[
            oid(OID_DATA),
            der(0xa0, &der(tag::OCTET_STRING, &auth_safe)),
        ]);
        let store = seq(&[der(tag::INTEGER, &[3]), content]);

        let rec = testing::scan(&store);
        assert_eq!(pkcs12_fingerprints(&rec), expected, "{rec:?}");
        assert!(rec.partials.is_empty(), "{:?}", rec.partials);
        // Decrypted certificates are reported at the encrypted content.
        let at = (store.len() - ciphertext.len()) as u64;
        assert!(rec.certs.iter().all(|c| c.1 == at), "{:?}", rec.certs);
    }

    #[test]
    fn origins_compose_across_chunk_boundaries() {
        // A buffer made of input bytes 100..140 and 200..; a value inside it from position 27.
        let parent = Origin::Segments(vec![(0, 100), (40, 200)]);
        let child = parent.within(&[(0, 27)], 50);
        assert_eq!(child.offset(0), 127);
        assert_eq!(child.offset(12), 139);
        assert_eq!(child.offset(13), 200);
        assert_eq!(child.offset(49), 236);
        assert_eq!(Origin::Decrypted(7).within(&[(0, 3)], 9).offset(5), 7);
    }

    #[test]
    fn describes_passwords_without_revealing_them() {
        let describe =
            |v: &[&str]| describe_passwords(&v.iter().map(|p| p.to_string()).collect::<Vec<_>>());
        assert_eq!(
            describe(&["", "changeit"]),
            "the empty password and \"changeit\""
        );
        assert_eq!(
            describe(&["changeit", "a", "b"]),
            "\"changeit\" and 2 other passwords"
        );
        assert_eq!(describe(&["a"]), "1 other password");
        assert_eq!(describe(&[]), "no password");
    }
}
