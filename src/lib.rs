//! rootsift: find every certificate and code-signing signature in a root filesystem.

pub mod cert;
pub mod detect;
