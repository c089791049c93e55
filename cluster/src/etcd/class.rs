//! Sorting a failed gRPC call into the three error classes.
//!
//! etcd 3.4 and tonic report failures as a `Status` code plus a message; the code alone does not
//! tell whether a request reached etcd (`Unavailable` is both "connection refused" and etcd's
//! own "request timed out", which may still commit), so the messages etcd documents are read
//! too (`etcdserver/api/v3rpc/rpctypes/error.go`). Anything not known to be harmless is
//! [`Error::Unknown`]: a wrong "unknown" costs a resend, a wrong "not sent" could lose a write.

use crate::error::Error;
use tonic::{Code, Status};

/// What a failed call means for the caller, before it becomes an [`Error`].
#[derive(Debug)]
pub(crate) enum Failure {
    /// The token expired or was never valid: log in again, then resend (nothing was done).
    TokenExpired,
    /// One of the crate's error classes.
    Error(Error),
}

/// Sorts a failed call. `what` names the call for the message.
pub(crate) fn classify(what: &str, status: &Status) -> Failure {
    let message = status.message();
    let described = format!("{what}: {message}");
    if message.contains("required revision has been compacted") {
        return Failure::Error(Error::Compacted {
            compact_revision: 0,
        });
    }
    match status.code() {
        Code::Unauthenticated if message.contains("invalid auth token") => Failure::TokenExpired,
        Code::Unavailable if never_reached_etcd(message) => {
            Failure::Error(Error::NotSent(described))
        }
        Code::Unavailable
        | Code::DeadlineExceeded
        | Code::Cancelled
        | Code::Unknown
        | Code::Internal
        | Code::Aborted
        | Code::DataLoss => Failure::Error(Error::Unknown(described)),
        _ => Failure::Error(Error::Refused(described)),
    }
}

/// Whether an `Unavailable` call certainly never reached etcd's state machine: the connection
/// could not be made, or the member refused it before proposing (it knows no raft leader, and
/// every linearizable request says `hasleader`, so it answers at once instead of waiting).
fn never_reached_etcd(message: &str) -> bool {
    const NOT_SENT: [&str; 6] = [
        "tcp connect error",
        "error trying to connect",
        "Connection refused",
        "connection refused",
        "etcdserver: no leader",
        "etcdserver: not capable",
    ];
    NOT_SENT.iter().any(|sign| message.contains(sign))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn class(code: Code, message: &str) -> String {
        match classify("txn", &Status::new(code, message)) {
            Failure::TokenExpired => "token".to_string(),
            Failure::Error(Error::NotSent(_)) => "not sent".to_string(),
            Failure::Error(Error::Refused(_)) => "refused".to_string(),
            Failure::Error(Error::Unknown(_)) => "unknown".to_string(),
            Failure::Error(Error::Compacted { .. }) => "compacted".to_string(),
            Failure::Error(other) => other.to_string(),
        }
    }

    #[test]
    fn etcds_timeouts_are_unknown_and_refusals_are_refused() {
        // etcd 3.4 says "request timed out" for a proposal that may still commit.
        assert_eq!(
            class(Code::Unavailable, "etcdserver: request timed out"),
            "unknown"
        );
        assert_eq!(
            class(Code::Unavailable, "etcdserver: leader changed"),
            "unknown"
        );
        assert_eq!(class(Code::Unknown, "transport error"), "unknown");
        assert_eq!(class(Code::Cancelled, "Timeout expired"), "unknown");
        assert_eq!(class(Code::Unavailable, "tcp connect error"), "not sent");
        assert_eq!(
            class(Code::Unavailable, "etcdserver: no leader"),
            "not sent"
        );
        assert_eq!(
            class(Code::InvalidArgument, "etcdserver: request is too large"),
            "refused"
        );
        assert_eq!(
            class(
                Code::ResourceExhausted,
                "etcdserver: mvcc: database space exceeded"
            ),
            "refused"
        );
        assert_eq!(
            class(Code::Unauthenticated, "etcdserver: invalid auth token"),
            "token"
        );
        assert_eq!(
            class(
                Code::OutOfRange,
                "etcdserver: mvcc: required revision has been compacted"
            ),
            "compacted"
        );
    }
}
