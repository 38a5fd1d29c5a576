//! The Vouch executor sidecar, as a library: each concern in its own module, driven by the
//! `vouch-executor` binary and by the end-to-end tests.

pub mod swtpm;
pub mod tpm;
