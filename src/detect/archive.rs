//! archive placeholder
use super::{Budget, Detector, FormatResult, Sink};
pub fn scan(_d: &Detector<'_>, _data: &[u8], _depth: u32, _b: &mut Budget, _s: &mut dyn Sink) -> FormatResult { Ok(()) }
