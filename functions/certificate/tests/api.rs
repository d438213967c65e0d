//! The certificate function against the emulator, through the real SDK: every
//! endpoint of api.md's "Certificates", as a client sees it.

mod common;

#[path = "api/issue.rs"]
mod issue;
#[path = "api/ownership.rs"]
mod ownership;
#[path = "api/registers.rs"]
mod registers;
#[path = "api/validation.rs"]
mod validation;
#[path = "api/verify.rs"]
mod verify;
