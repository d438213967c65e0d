//! The one error type of devstack.

use std::path::PathBuf;

/// Everything that can stop the local stack from coming up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file could not be read or written.
    #[error("cannot access `{path}`: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The template is not valid YAML.
    #[error("`{path}` is not valid YAML: {source}")]
    Yaml {
        /// The template file.
        path: PathBuf,
        /// The cause.
        source: serde_norway::Error,
    },
    /// The template is valid YAML but not a template devstack understands.
    #[error("template: `{location}` {problem}")]
    Template {
        /// Where in the template, as a dotted path.
        location: String,
        /// What is wrong.
        problem: String,
    },
    /// A resource type devstack does not know (neither creates nor ignores).
    #[error(
        "template: resource `{logical_id}` has type `{type_name}`, which devstack does not know; \
         teach infra/devstack/src/template.rs to create or ignore it"
    )]
    UnknownResourceType {
        /// The resource's logical id.
        logical_id: String,
        /// Its CloudFormation type.
        type_name: String,
    },
    /// A resource type devstack recognises but cannot create yet.
    #[error("devstack cannot create `{type_name}` (resource `{logical_id}`) yet")]
    Unsupported {
        /// The resource's logical id.
        logical_id: String,
        /// Its CloudFormation type.
        type_name: String,
    },
    /// A resource devstack runs itself (a pipe, a function's SQS event) is
    /// configured in a way devstack cannot reproduce locally.
    #[error("devstack cannot emulate resource `{logical_id}`: {problem}")]
    CannotEmulate {
        /// The resource's logical id.
        logical_id: String,
        /// What devstack cannot reproduce.
        problem: String,
    },
    /// A local HTTP call (cargo lambda watch, the emulator's own endpoints) failed.
    #[error("`{method} {url}` failed: {problem}")]
    Http {
        /// The HTTP method.
        method: &'static str,
        /// The URL.
        url: String,
        /// Why.
        problem: String,
    },
    /// An intrinsic function or reference could not be resolved.
    #[error("cannot resolve `{reference}`: {problem}")]
    Unresolved {
        /// The reference, as written (`!Ref X`, `!GetAtt X.Arn`, `${X}`).
        reference: String,
        /// Why.
        problem: String,
    },
    /// No function in the template matches the name.
    #[error(
        "no AWS::Serverless::Function `{0}` in the template (tried the logical id, the binary name and `<Name>Function`)"
    )]
    UnknownFunction(String),
    /// Python 3 is not installed.
    #[error(
        "python3 was not found on PATH; devstack needs Python 3.9 or newer to run the AWS \
         emulator (moto) and cargo-lambda: install it (https://www.python.org/downloads/) and retry"
    )]
    PythonMissing,
    /// Creating the virtual environment or installing into it failed.
    #[error("setting up `.venv` failed: `{command}` {outcome}")]
    Venv {
        /// The command that failed.
        command: String,
        /// Its exit status or error.
        outcome: String,
    },
    /// A TCP port that devstack needs is in use.
    #[error(
        "port {port} on 127.0.0.1 is already in use, so the {purpose} cannot start; \
         stop whatever listens there (is another `cargo dev` running?) and retry"
    )]
    PortTaken {
        /// The port.
        port: u16,
        /// What devstack wanted it for.
        purpose: &'static str,
    },
    /// The emulator did not start.
    #[error("the AWS emulator (moto) did not start: {0}")]
    Emulator(String),
    /// An AWS API call against the emulator failed.
    #[error("`{operation}` for `{resource}` failed: {message}")]
    Aws {
        /// The API operation.
        operation: &'static str,
        /// The resource it was about.
        resource: String,
        /// The SDK's error, with its context.
        message: String,
    },
    /// Seeding data through a function crate failed.
    #[error("seeding {what} failed: {message}")]
    Seed {
        /// What was being seeded.
        what: String,
        /// Why it failed.
        message: String,
    },
}

impl Error {
    /// An [`Error::Aws`] from any SDK error, keeping its full context.
    pub(crate) fn aws(
        operation: &'static str,
        resource: impl Into<String>,
        error: impl std::error::Error,
    ) -> Self {
        Error::Aws {
            operation,
            resource: resource.into(),
            message: aws_sdk_dynamodb::error::DisplayErrorContext(error).to_string(),
        }
    }

    /// An [`Error::Aws`] for a response that lacks `field`.
    pub(crate) fn aws_missing(
        operation: &'static str,
        resource: impl Into<String>,
        field: &str,
    ) -> Self {
        Error::Aws {
            operation,
            resource: resource.into(),
            message: format!("the response has no `{field}`"),
        }
    }

    /// An [`Error::Io`] for `path`.
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    /// An [`Error::Template`].
    pub(crate) fn template(location: impl Into<String>, problem: impl Into<String>) -> Self {
        Error::Template {
            location: location.into(),
            problem: problem.into(),
        }
    }

    /// An [`Error::CannotEmulate`].
    pub(crate) fn cannot_emulate(
        logical_id: impl Into<String>,
        problem: impl Into<String>,
    ) -> Self {
        Error::CannotEmulate {
            logical_id: logical_id.into(),
            problem: problem.into(),
        }
    }

    /// An [`Error::Unresolved`].
    pub(crate) fn unresolved(reference: impl Into<String>, problem: impl Into<String>) -> Self {
        Error::Unresolved {
            reference: reference.into(),
            problem: problem.into(),
        }
    }
}

/// devstack's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
