//! The error of every fallible call: one variant per C status, with the message
//! `lossfn_last_error` gives for the same call.
use std::fmt;

/// Why a call was refused. Each variant is one `LOSSFN_ERROR_*` status of the C API and carries
/// the message naming the argument (the text `lossfn_last_error` returns for the same call).
/// Nothing was written to any output.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// A required pointer is NULL (C API only).
    NullPointer(String),
    /// Buffer lengths that disagree with each other or with the shape, or sizes that overflow.
    InvalidSize(String),
    /// An option out of its domain (NaN included), or an unknown enum value (C API).
    InvalidOption(String),
    /// A class index outside `[0, classes)` that is not `ignore_index`, or a target value the
    /// loss does not accept.
    InvalidTarget(String),
    /// An output buffer overlaps an input or another output (C API only: Rust borrows rule it out).
    Overlap(String),
    /// A bug in lossfn (a caught panic in the C API). Please report it.
    Internal(String),
    /// A buffer or options pointer is not aligned for its type (C API only).
    Misaligned(String),
}

/// The result of every fallible call.
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// The C status of this error (`LOSSFN_ERROR_*`, never `LOSSFN_OK`).
    pub fn status(&self) -> u32 {
        use crate::capi::*;
        match self {
            Error::NullPointer(_) => LOSSFN_ERROR_NULL_POINTER,
            Error::InvalidSize(_) => LOSSFN_ERROR_INVALID_SIZE,
            Error::InvalidOption(_) => LOSSFN_ERROR_INVALID_OPTION,
            Error::InvalidTarget(_) => LOSSFN_ERROR_INVALID_TARGET,
            Error::Overlap(_) => LOSSFN_ERROR_OVERLAP,
            Error::Internal(_) => LOSSFN_ERROR_INTERNAL,
            Error::Misaligned(_) => LOSSFN_ERROR_MISALIGNED,
        }
    }

    /// The message naming the argument.
    pub fn message(&self) -> &str {
        match self {
            Error::NullPointer(m)
            | Error::InvalidSize(m)
            | Error::InvalidOption(m)
            | Error::InvalidTarget(m)
            | Error::Overlap(m)
            | Error::Internal(m)
            | Error::Misaligned(m) => m,
        }
    }

    /// The same kind of error with another message.
    pub(crate) fn with_message(&self, message: String) -> Self {
        match self {
            Error::NullPointer(_) => Error::NullPointer(message),
            Error::InvalidSize(_) => Error::InvalidSize(message),
            Error::InvalidOption(_) => Error::InvalidOption(message),
            Error::InvalidTarget(_) => Error::InvalidTarget(message),
            Error::Overlap(_) => Error::Overlap(message),
            Error::Internal(_) => Error::Internal(message),
            Error::Misaligned(_) => Error::Misaligned(message),
        }
    }

    pub(crate) fn null(name: &str) -> Self {
        Error::NullPointer(format!("`{name}` is NULL"))
    }
    pub(crate) fn size(message: impl Into<String>) -> Self {
        Error::InvalidSize(message.into())
    }
    pub(crate) fn option(message: impl Into<String>) -> Self {
        Error::InvalidOption(message.into())
    }
    pub(crate) fn target(message: impl Into<String>) -> Self {
        Error::InvalidTarget(message.into())
    }
}

impl fmt::Display for Error {
    /// `LOSSFN_ERROR_<KIND>: message`, as the C++ wrapper's `what()`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            Error::NullPointer(_) => "LOSSFN_ERROR_NULL_POINTER",
            Error::InvalidSize(_) => "LOSSFN_ERROR_INVALID_SIZE",
            Error::InvalidOption(_) => "LOSSFN_ERROR_INVALID_OPTION",
            Error::InvalidTarget(_) => "LOSSFN_ERROR_INVALID_TARGET",
            Error::Overlap(_) => "LOSSFN_ERROR_OVERLAP",
            Error::Internal(_) => "LOSSFN_ERROR_INTERNAL",
            Error::Misaligned(_) => "LOSSFN_ERROR_MISALIGNED",
        };
        write!(f, "{name}: {}", self.message())
    }
}

impl std::error::Error for Error {}
