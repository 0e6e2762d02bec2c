//! der placeholder
use super::{Detector, Sink};
pub fn scan(_d: &Detector<'_>, _data: &[u8], _s: &mut dyn Sink) {}
