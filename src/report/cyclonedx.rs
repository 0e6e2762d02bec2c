//! `inspect -o cyclonedx`: a CycloneDX 1.6 JSON BOM of every certificate found (a CBOM).
//!
//! - `serialNumber` is a name-based (version 5) UUID of the document's own content, so the same
//!   certificates, locations, issues, targets and clock give the same document, byte for byte;
//!   `metadata.timestamp` is the clock the checks used; `metadata.tools` names rootsift;
//!   `metadata.component` is the target (type `file` for a path, `container` for an image
//!   reference), and depends on every certificate when there is one target.
//! - One component per distinct certificate, whether it has issues or not: type
//!   `cryptographic-asset`, `bom-ref` `certificate:sha256:<hex>`, named by the subject's CN (else
//!   the whole subject), `hashes` SHA-256 and SHA-1 of the DER, `cryptoProperties` with
//!   `assetType` `certificate` and `certificateProperties` (subject, issuer, validity,
//!   `certificateFormat` `X.509`, `certificateExtension` when every file it was found in has the
//!   same certificate extension, and references to the components below), every place it was
//!   found in `evidence.occurrences` (location, offset, parser), and `properties`:
//!   `rootsift:issue` (`kind: message`, one per issue), `rootsift:worst-level`,
//!   `rootsift:serial-number`, `rootsift:is-ca`, `rootsift:self-signed`.
//! - The algorithms and keys certificates refer to, each once: an `algorithm` component per
//!   signature algorithm (`bom-ref` `algorithm:<name>`, primitive `signature`, its OID), a
//!   `related-crypto-material` component of type `public-key` per distinct subject public key
//!   (`bom-ref` `public-key:sha256:<SHA-256 of the SubjectPublicKeyInfo>`, its size and the
//!   `algorithm` component of its key type, such as `RSA-2048` or `EC-secp256r1`).
//! - `dependencies`: each certificate depends on its signature algorithm and public key, each key
//!   on its algorithm.

use std::collections::HashSet;
use std::io::{self, Write};

use serde_cyclonedx::cyclonedx::v_1_6::{
    Component, ComponentBuilder, ComponentEvidence, ComponentEvidenceItemOccurrences,
    CryptoProperties, CryptoPropertiesAlgorithmProperties, CryptoPropertiesCertificateProperties,
    CryptoPropertiesRelatedCryptoMaterialProperties, CycloneDx, CycloneDxBuilder, Dependency, Hash,
    HashAlg, Metadata, MetadataTools, MetadataToolsVariant0, Property,
};
use sha1::Sha1;
use sha2::{Digest, Sha256};
use x509_parser::prelude::{FromDer, X509Certificate};
use x509_parser::x509::SubjectPublicKeyInfo;

use super::InspectContext;
use crate::analyze::Judged;
use crate::cert::{Certificate, rfc3339};
use crate::record::Finding;

/// The `$schema` written: the CycloneDX 1.6 JSON schema's identifier.
pub const SCHEMA_URI: &str = "http://cyclonedx.org/schema/bom-1.6.schema.json";

/// Extensions that name a certificate file, for `certificateExtension`.
const CERTIFICATE_EXTENSIONS: [&str; 4] = ["crt", "cer", "pem", "der"];

/// Writes the BOM of `judged` to `out`, pretty-printed, with a final newline.
pub fn write(
    out: &mut dyn Write,
    judged: &[Judged],
    context: &InspectContext<'_>,
) -> io::Result<()> {
    let mut bom = document(judged, context)?;
    // The serial number names the content: everything else in the document.
    bom.serial_number = Some(serial_number(&bom)?);
    serde_json::to_writer_pretty(&mut *out, &bom)?;
    out.write_all(b"\n")
}

fn document(judged: &[Judged], context: &InspectContext<'_>) -> io::Result<CycloneDx> {
    let several_targets = {
        let mut targets = judged.iter().flat_map(|j| &j.findings).map(|f| &f.target);
        let first = targets.next();
        targets.any(|t| Some(t) != first)
    };

    let mut crypto = CryptoAssets::default();
    let mut certificates = Vec::with_capacity(judged.len());
    let mut certificate_dependencies = Vec::with_capacity(judged.len());
    for entry in judged {
        let (component, dependency) = certificate(entry, several_targets, &mut crypto)?;
        certificates.push(component);
        certificate_dependencies.extend(dependency);
    }

    let certificate_refs: Vec<String> = certificates
        .iter()
        .filter_map(|c| c.bom_ref.clone())
        .collect();
    let target = target_component(context.targets)?;
    let mut dependencies = Vec::new();
    if let (Some(target), [_]) = (&target, context.targets)
        && let Some(target_ref) = &target.bom_ref
    {
        dependencies.push(dependency(target_ref.clone(), certificate_refs));
    }
    dependencies.extend(certificate_dependencies);
    dependencies.extend(crypto.dependencies);

    let tool = ComponentBuilder::default()
        .type_("application")
        .name("rootsift")
        .version(env!("CARGO_PKG_VERSION"))
        .build()
        .map_err(io::Error::other)?;
    let metadata = Metadata {
        timestamp: Some(rfc3339(context.now)),
        tools: Some(MetadataTools::Variant0(MetadataToolsVariant0 {
            components: Some(vec![tool]),
            services: None,
        })),
        component: target,
        properties: Some(vec![
            property("rootsift:clock", rfc3339(context.now)),
            property("rootsift:mozilla-data:date", context.mozilla_date),
            property("rootsift:mozilla-data:source", context.mozilla_source),
        ]),
        ..Default::default()
    };

    let mut components = certificates;
    components.extend(crypto.components);
    CycloneDxBuilder::default()
        .schema(SCHEMA_URI)
        .bom_format("CycloneDX")
        .spec_version("1.6")
        .version(1)
        .metadata(metadata)
        .components(components)
        .dependencies(dependencies)
        .build()
        .map_err(io::Error::other)
}

/// The component of one certificate, and its dependencies when its algorithms are known.
fn certificate(
    entry: &Judged,
    several_targets: bool,
    crypto: &mut CryptoAssets,
) -> io::Result<(Component, Option<Dependency>)> {
    let cert = &entry.cert;
    let bom_ref = format!("certificate:sha256:{}", cert.sha256_hex());
    let mut certificate_properties = CryptoPropertiesCertificateProperties {
        subject_name: Some(cert.subject.clone()),
        issuer_name: Some(cert.issuer.clone()),
        not_valid_before: Some(rfc3339(cert.not_before)),
        not_valid_after: Some(rfc3339(cert.not_after)),
        certificate_format: Some("X.509".to_string()),
        certificate_extension: certificate_extension(&entry.findings),
        ..Default::default()
    };

    let mut properties: Vec<Property> = entry
        .issues
        .iter()
        .map(|issue| {
            property(
                "rootsift:issue",
                format!("{}: {}", issue.kind.as_str(), issue.message),
            )
        })
        .collect();
    if let Some(worst) = entry.worst() {
        properties.push(property("rootsift:worst-level", worst.as_str()));
    }
    properties.push(property("rootsift:serial-number", cert.serial.as_str()));
    properties.push(property("rootsift:is-ca", cert.is_ca.to_string()));
    properties.push(property(
        "rootsift:self-signed",
        cert.self_signed.to_string(),
    ));

    // The algorithm OIDs and the public key are not in `Certificate`: read them again from the DER
    // (the certificate parsed when it was found, so this cannot fail in practice).
    let dependency = match X509Certificate::from_der(&cert.der) {
        Ok((_, x509)) => {
            let signature = crypto.signature_algorithm(
                &cert.signature_algorithm,
                &x509.signature_algorithm.algorithm.to_id_string(),
            )?;
            let key = crypto.public_key(cert, x509.public_key())?;
            certificate_properties.signature_algorithm_ref = Some(signature.clone());
            certificate_properties.subject_public_key_ref = Some(key.clone());
            Some(dependency(bom_ref.clone(), vec![signature, key]))
        }
        Err(_) => {
            properties.push(property(
                "rootsift:public-key-algorithm",
                cert.public_key_algorithm.as_str(),
            ));
            properties.push(property(
                "rootsift:public-key-bits",
                cert.public_key_bits.to_string(),
            ));
            properties.push(property(
                "rootsift:signature-algorithm",
                cert.signature_algorithm.as_str(),
            ));
            None
        }
    };

    let occurrences = entry
        .findings
        .iter()
        .map(|f| ComponentEvidenceItemOccurrences {
            location: f.location.clone(),
            offset: i64::try_from(f.offset).ok(),
            additional_context: Some(if several_targets {
                format!(
                    "found by the {} parser under the target {}",
                    f.parser.as_str(),
                    f.target
                )
            } else {
                format!("found by the {} parser", f.parser.as_str())
            }),
            bom_ref: None,
            line: None,
            symbol: None,
        })
        .collect();

    let component = ComponentBuilder::default()
        .type_("cryptographic-asset")
        .bom_ref(bom_ref)
        .name(certificate_name(cert))
        .hashes(vec![
            Hash {
                alg: HashAlg::Sha256,
                content: cert.sha256_hex(),
            },
            Hash {
                alg: HashAlg::Sha1,
                content: cert.sha1_hex(),
            },
        ])
        .crypto_properties(CryptoProperties {
            asset_type: "certificate".to_string(),
            certificate_properties: Some(certificate_properties),
            algorithm_properties: None,
            oid: None,
            protocol_properties: None,
            related_crypto_material_properties: None,
        })
        .evidence(ComponentEvidence {
            occurrences: Some(occurrences),
            ..Default::default()
        })
        .properties(properties)
        .build()
        .map_err(io::Error::other)?;
    Ok((component, dependency))
}

/// Algorithm and key components, each made once, in order of first use.
#[derive(Default)]
struct CryptoAssets {
    components: Vec<Component>,
    dependencies: Vec<Dependency>,
    made: HashSet<String>,
}

impl CryptoAssets {
    /// The `bom-ref` of the signature algorithm `name` (OID `oid`).
    fn signature_algorithm(&mut self, name: &str, oid: &str) -> io::Result<String> {
        let properties = CryptoPropertiesAlgorithmProperties {
            primitive: Some("signature".to_string()),
            ..Default::default()
        };
        self.algorithm(name, oid, properties)
    }

    /// The `bom-ref` of the subject public key of `cert`.
    fn public_key(
        &mut self,
        cert: &Certificate,
        spki: &SubjectPublicKeyInfo<'_>,
    ) -> io::Result<String> {
        let key_hash = hex::encode(Sha256::digest(spki.raw));
        let bom_ref = format!("public-key:sha256:{key_hash}");
        if self.made.contains(&bom_ref) {
            return Ok(bom_ref);
        }
        let oid = spki.algorithm.algorithm.to_id_string();
        let curve = spki
            .algorithm
            .parameters
            .as_ref()
            .and_then(|p| p.as_oid().ok())
            .and_then(|o| curve_name(&o.to_id_string()));
        let (name, properties) = key_algorithm(cert, curve);
        let algorithm = self.algorithm(&name, &oid, properties)?;
        let bits = cert.public_key_bits;
        let component = ComponentBuilder::default()
            .type_("cryptographic-asset")
            .bom_ref(bom_ref.clone())
            .name(name)
            .crypto_properties(CryptoProperties {
                asset_type: "related-crypto-material".to_string(),
                related_crypto_material_properties: Some(
                    CryptoPropertiesRelatedCryptoMaterialProperties {
                        type_: Some("public-key".to_string()),
                        id: Some(key_hash),
                        size: (bits > 0).then_some(i64::from(bits)),
                        algorithm_ref: Some(algorithm.clone()),
                        ..Default::default()
                    },
                ),
                oid: Some(oid),
                algorithm_properties: None,
                certificate_properties: None,
                protocol_properties: None,
            })
            .build()
            .map_err(io::Error::other)?;
        self.components.push(component);
        self.dependencies
            .push(dependency(bom_ref.clone(), vec![algorithm]));
        self.made.insert(bom_ref.clone());
        Ok(bom_ref)
    }

    /// The `bom-ref` of the algorithm `name`, made on first use.
    fn algorithm(
        &mut self,
        name: &str,
        oid: &str,
        properties: CryptoPropertiesAlgorithmProperties,
    ) -> io::Result<String> {
        let bom_ref = format!("algorithm:{name}");
        if self.made.contains(&bom_ref) {
            return Ok(bom_ref);
        }
        let component = ComponentBuilder::default()
            .type_("cryptographic-asset")
            .bom_ref(bom_ref.clone())
            .name(name)
            .crypto_properties(CryptoProperties {
                asset_type: "algorithm".to_string(),
                algorithm_properties: Some(properties),
                oid: is_oid(oid).then(|| oid.to_string()),
                certificate_properties: None,
                protocol_properties: None,
                related_crypto_material_properties: None,
            })
            .build()
            .map_err(io::Error::other)?;
        self.components.push(component);
        self.made.insert(bom_ref.clone());
        Ok(bom_ref)
    }
}

/// The name and properties of the algorithm of `cert`'s public key: `RSA-2048`, `EC-secp256r1`,
/// `DSA-1024`, `Ed25519`, …
fn key_algorithm(
    cert: &Certificate,
    curve: Option<&'static str>,
) -> (String, CryptoPropertiesAlgorithmProperties) {
    let bits = cert.public_key_bits;
    let algorithm = cert.public_key_algorithm.as_str();
    let mut properties = CryptoPropertiesAlgorithmProperties::default();
    let name = match (algorithm, curve) {
        ("EC", Some(curve)) => {
            properties.curve = Some(curve.to_string());
            format!("EC-{curve}")
        }
        ("RSA" | "EC" | "DSA", _) if bits > 0 => {
            properties.parameter_set_identifier = Some(bits.to_string());
            format!("{algorithm}-{bits}")
        }
        _ => algorithm.to_string(),
    };
    if matches!(algorithm, "DSA" | "Ed25519" | "Ed448") {
        properties.primitive = Some("signature".to_string());
    }
    (name, properties)
}

/// Curve names as CycloneDX recommends them (those of neuromancer.sk/std).
fn curve_name(oid: &str) -> Option<&'static str> {
    Some(match oid {
        "1.2.840.10045.3.1.7" => "secp256r1",
        "1.3.132.0.34" => "secp384r1",
        "1.3.132.0.35" => "secp521r1",
        "1.3.132.0.10" => "secp256k1",
        "1.2.840.10045.3.1.1" => "secp192r1",
        "1.3.132.0.33" => "secp224r1",
        "1.3.36.3.3.2.8.1.1.7" => "brainpoolP256r1",
        "1.3.36.3.3.2.8.1.1.11" => "brainpoolP384r1",
        "1.3.36.3.3.2.8.1.1.13" => "brainpoolP512r1",
        _ => return None,
    })
}

fn is_oid(text: &str) -> bool {
    !text.is_empty()
        && text
            .split('.')
            .all(|arc| !arc.is_empty() && arc.bytes().all(|b| b.is_ascii_digit()))
}

/// The component describing the scanned target(s), as given on the command line.
fn target_component(targets: &[String]) -> io::Result<Option<Component>> {
    let make = |name: &str, bom_ref: String| {
        ComponentBuilder::default()
            .type_(target_type(name))
            .bom_ref(bom_ref)
            .name(name)
            .build()
            .map_err(io::Error::other)
    };
    Ok(match targets {
        [] => None,
        [one] => Some(make(one, "target".to_string())?),
        many => {
            let parts = many
                .iter()
                .enumerate()
                .map(|(i, name)| make(name, format!("target:{}", i + 1)))
                .collect::<io::Result<Vec<_>>>()?;
            let mut all = make(&many.join(" "), "target".to_string())?;
            all.type_ = "file".to_string();
            all.components = Some(parts);
            Some(all)
        }
    })
}

/// `container` for an image reference (`docker://…`, `oci:…`, `alpine:3.20`), `file` for a path.
fn target_type(name: &str) -> &'static str {
    let path_like = name.starts_with('/') || name.starts_with('.') || !name.contains(':');
    if path_like { "file" } else { "container" }
}

/// The subject's common name, else the whole subject, else the fingerprint.
fn certificate_name(cert: &Certificate) -> String {
    common_name(&cert.subject)
        .filter(|cn| !cn.is_empty())
        .or_else(|| (!cert.subject.is_empty()).then(|| cert.subject.clone()))
        .unwrap_or_else(|| cert.sha256_hex())
}

/// The `CN` of a subject formatted as Go's `pkix.Name.String()` (attributes separated by unescaped
/// `,` or `+`, special characters escaped with `\`).
fn common_name(subject: &str) -> Option<String> {
    let mut attribute = String::new();
    let mut chars = subject.chars();
    loop {
        let c = chars.next();
        match c {
            Some('\\') => {
                attribute.push('\\');
                attribute.extend(chars.next());
            }
            Some(',' | '+') | None => {
                if let Some(value) = attribute.strip_prefix("CN=") {
                    return Some(unescape(value));
                }
                c?;
                attribute.clear();
            }
            Some(c) => attribute.push(c),
        }
    }
}

fn unescape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            out.extend(chars.next());
        } else {
            out.push(c);
        }
    }
    out
}

/// The extension every place the certificate was found shares, if it names a certificate file.
fn certificate_extension(findings: &[Finding]) -> Option<String> {
    let mut extensions = findings.iter().map(|f| {
        let innermost = f.location.rsplit("!/").next().unwrap_or(&f.location);
        let name = innermost.rsplit('/').next().unwrap_or(innermost);
        name.rsplit_once('.')
            .map(|(_, ext)| ext.to_ascii_lowercase())
    });
    let first = extensions.next()??;
    (CERTIFICATE_EXTENSIONS.contains(&first.as_str())
        && extensions.all(|e| e.as_deref() == Some(first.as_str())))
    .then_some(first)
}

fn dependency(from: String, to: Vec<String>) -> Dependency {
    Dependency {
        ref_: from,
        depends_on: Some(to),
        provides: None,
    }
}

fn property(name: &str, value: impl Into<String>) -> Property {
    Property {
        name: name.to_string(),
        value: Some(value.into()),
    }
}

/// `urn:uuid:` of the version 5 (name-based, SHA-1) UUID, in the URL namespace, of the name
/// `urn:rootsift:cyclonedx:` followed by `bom` as compact JSON.
fn serial_number(bom: &CycloneDx) -> io::Result<String> {
    const NAMESPACE_URL: [u8; 16] = [
        0x6b, 0xa7, 0xb8, 0x11, 0x9d, 0xad, 0x11, 0xd1, 0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4, 0x30,
        0xc8,
    ];
    let mut hasher = HashWriter(Sha1::new());
    hasher.0.update(NAMESPACE_URL);
    hasher.0.update(b"urn:rootsift:cyclonedx:");
    serde_json::to_writer(&mut hasher, bom)?;
    Ok(uuid5_urn(&hasher.0.finalize()))
}

/// Feeds what is written to a hash, so a large document is never held twice.
struct HashWriter(Sha1);

impl Write for HashWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A version 5 UUID from the SHA-1 of its namespace and name, as a `urn:uuid:`.
fn uuid5_urn(sha1: &[u8]) -> String {
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&sha1[..16]);
    bytes[6] = (bytes[6] & 0x0f) | 0x50;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex = hex::encode(bytes);
    format!(
        "urn:uuid:{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_names_come_out_of_go_subjects() {
        assert_eq!(
            common_name("CN=ISRG Root X1,O=Internet Security Research Group,C=US").as_deref(),
            Some("ISRG Root X1")
        );
        assert_eq!(
            common_name("SERIALNUMBER=1,CN=a\\, b\\+c,O=x").as_deref(),
            Some("a, b+c")
        );
        assert_eq!(common_name("O=No CN,C=US"), None);
        assert_eq!(common_name(""), None);
    }

    #[test]
    fn serial_numbers_are_version_5_uuids() {
        // RFC 4122's example: the version 5 UUID of www.example.com in the DNS namespace.
        let mut sha1 = Sha1::new();
        sha1.update([
            0x6b, 0xa7, 0xb8, 0x10, 0x9d, 0xad, 0x11, 0xd1, 0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4,
            0x30, 0xc8,
        ]);
        sha1.update(b"www.example.com");
        assert_eq!(
            uuid5_urn(&sha1.finalize()),
            "urn:uuid:2ed6657d-e927-568b-95e1-2665a8aea6a2"
        );
    }

    #[test]
    fn oids_are_recognised() {
        assert!(is_oid("1.2.840.113549.1.1.11"));
        assert!(!is_oid("sha256WithRSAEncryption"));
        assert!(!is_oid("1..2"));
    }
}
