//! What two or more pocketgov functions need, in one place so that every function
//! behaves the same at the edge: configuration, the AWS SDK config, the HTTP edge
//! (JSON parsing, problem+json errors, request ids), access-token verification,
//! idempotency, DynamoDB plumbing (errors, serde_dynamo items, cancelled
//! transactions), domain events, telemetry, presigned S3 POST uploads (`s3post`,
//! which the SDK lacks) and the typed values parsed at the edge.
#![warn(missing_docs)]

pub mod auth;
pub mod aws;
pub mod codes;
pub mod config;
pub mod cursor;
pub mod dynamo;
pub mod eddsa;
pub mod events;
pub mod http;
pub mod idempotency;
pub mod jwks;
pub mod openapi;
pub mod phone;
pub mod random;
pub mod s3post;
pub mod telemetry;
pub mod time;
