//! Every endpoint and error code of api.md's "Identity and tokens", through the
//! in-process App against the emulator (real DynamoDB, SNS and Secrets Manager
//! wire protocols through the official SDK).

mod common;

#[path = "api/devices.rs"]
mod devices;
#[path = "api/edge.rs"]
mod edge;
#[path = "api/otp.rs"]
mod otp;
#[path = "api/password.rs"]
mod password;
#[path = "api/pattern.rs"]
mod pattern;
#[path = "api/signup.rs"]
mod signup;
#[path = "api/tokens.rs"]
mod tokens;
