//! PLACEHOLDER: being written (the inspect checks).
