//! Journeys across pocketgov functions over real HTTP (crate `e2e`).
//!
//! A journey signs in through `login` and then uses another capability with the
//! token it got, through `cargo lambda watch` and the workspace router, as a phone
//! would through API Gateway. With `login` as the only function so far, its own
//! flows are covered by `functions/login/tests/` (in-process, against the
//! emulator) and `functions/login/tests/binary.rs` (the compiled binary over
//! HTTP); the first journey arrives with the second function.
