//! Errors as the command line prints them: one line, each cause said once.
//!
//! An error type that prints its cause in its own message (`#[error("io: {0}")]` over a
//! `#[source]`) and anyhow's `{:#}`, which appends every source, together said each cause
//! twice: `connection: Connection refused (os error 111): Connection refused (os error 111)`.
//! Here a cause whose text its parent's message already holds is left out.

/// The error and its causes on one line, joined by `: `, none repeated.
pub fn one_line(error: &anyhow::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    for cause in error.chain() {
        let text = cause.to_string().replace(['\r', '\n'], " ");
        if parts.last().is_some_and(|said| said.contains(&text)) {
            continue;
        }
        parts.push(text);
    }
    parts.join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use anyhow::Context;

    #[derive(Debug, thiserror::Error)]
    enum Wrapper {
        #[error("io: {0}")]
        Io(#[from] std::io::Error),
    }

    // Guards against `connection: Connection refused (os error 111): Connection refused (os
    // error 111)`: a cause printed by its parent and again as the next link of the chain.
    #[test]
    fn a_cause_its_parent_already_printed_is_said_once() {
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "No such file");
        let error = Err::<(), _>(Wrapper::from(io))
            .context("backup.crmbak does not verify")
            .unwrap_err();
        assert_eq!(
            one_line(&error),
            "backup.crmbak does not verify: io: No such file"
        );
        let plain = anyhow::anyhow!("line one\nline two").context("outer");
        assert_eq!(one_line(&plain), "outer: line one line two");
    }
}
