//! The OCI distribution client (placeholder; being written).
