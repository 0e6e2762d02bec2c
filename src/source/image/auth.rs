//! Registry credentials (placeholder; being written).
