//! pkcs12 reader (placeholder until implemented).

use super::{Detector, FormatResult, Sink};

/// Reports every certificate in a pkcs12 structure.
pub fn scan(_detector: &Detector<'_>, _data: &[u8], _sink: &mut dyn Sink) -> FormatResult {
    Err("pkcs12 support is not implemented yet".to_string())
}
