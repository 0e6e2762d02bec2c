//! PLACEHOLDER: being written (Paranoia's `.paranoia.yaml` policies and their evaluation).
