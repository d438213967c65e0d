//! Journeys across pocketgov functions over real HTTP (crate `e2e`).
//!
//! A journey signs in through `login` and then uses another capability with the
//! token it got, as a phone would through API Gateway. Today the one
//! cross-function journey (a token from `login`, checked by the compiled
//! `certificate` binary against the issuer's JWK Set fetched over HTTP, then a
//! certificate issued, downloaded and verified) lives in
//! `functions/certificate/tests/binary.rs`, because Cargo gives a test the path of
//! its own package's binaries only. Journeys that need several compiled functions
//! at once (events from one function consumed by `alert-sms`) will live here.
