//! jks reader (placeholder until implemented).

use super::{Detector, FormatResult, Sink};

/// Reports every certificate in a jks structure.
pub fn scan(_detector: &Detector<'_>, _data: &[u8], _sink: &mut dyn Sink) -> FormatResult {
    Err("jks support is not implemented yet".to_string())
}
