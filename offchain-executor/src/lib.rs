//! The Vouch executor sidecar, as a library: each concern in its own module, driven by the
//! `vouch-executor` binary and by the end-to-end tests.
//!
//! The data plane: [`store`] (blobs by CID over HTTP), [`image`] (pinned job images),
//! [`staging`] (tmpfs for decrypted inputs and output), [`sandbox`] (the policy as Docker
//! sees it) and [`runner`] (one job, start to outcome). The TPM: [`tpm`], and the measured
//! launch that puts it in its executor state: [`launch`]. The worker on the
//! chain, its roles and its attestation API: [`worker`]. Helpers for development machines:
//! [`swtpm`] and [`dockerd`].

pub mod dockerd;
pub mod image;
pub mod launch;
pub mod runner;
pub mod sandbox;
pub mod staging;
pub mod store;
pub mod swtpm;
pub mod tpm;
pub mod worker;
