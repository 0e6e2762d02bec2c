//! The OCI distribution client (placeholder; being written).
#![allow(missing_docs, dead_code)]
use std::io::Read;
pub struct Credentials { pub username: String, pub password: String }
pub struct RegistryOptions { pub insecure: bool, pub creds: Option<Credentials>, pub timeout: std::time::Duration }
impl Default for RegistryOptions { fn default() -> Self { RegistryOptions { insecure: false, creds: None, timeout: std::time::Duration::from_secs(30) } } }
pub struct Fetched { pub body: Vec<u8>, pub media_type: Option<String>, pub digest: Option<String> }
pub struct Client;
#[derive(Debug, thiserror::Error)]
#[error("registry client not built yet")]
pub struct RegistryError;
impl Client {
    pub fn new(_registry: &str, _repository: &str, _options: &RegistryOptions) -> Result<Client, RegistryError> { Err(RegistryError) }
    pub fn manifest(&self, _reference: &str) -> Result<Fetched, RegistryError> { Err(RegistryError) }
    pub fn blob(&self, _digest: &str) -> Result<Box<dyn Read + Send>, RegistryError> { Err(RegistryError) }
}
