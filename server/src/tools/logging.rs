//! The server's log: to stderr, filtered by `CRM_LOG` (default `info`), in colour only when
//! stderr is a terminal — a log sent to a file or a journal keeps no escape codes.
//! `CRM_LOG_COLOR=1` or `0` decides instead; `NO_COLOR` (no-color.org) turns colour off.

use std::io::IsTerminal;

/// Whether log lines carry ANSI colour: `CRM_LOG_COLOR`, else not under `NO_COLOR`, else only
/// on a terminal.
fn colour(setting: Option<&str>, no_color: bool, terminal: bool) -> bool {
    match setting.map(str::trim) {
        Some("1" | "always" | "true" | "yes") => true,
        Some("0" | "never" | "false" | "no") => false,
        _ => !no_color && terminal,
    }
}

/// Installs the log for `serve`.
pub fn init() {
    let setting = std::env::var("CRM_LOG_COLOR").ok();
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|value| !value.is_empty());
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("CRM_LOG")
                .unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .with_ansi(colour(
            setting.as_deref(),
            no_color,
            std::io::stderr().is_terminal(),
        ))
        .init();
}

#[cfg(test)]
mod tests {
    use super::colour;

    #[test]
    fn colour_only_on_a_terminal_unless_told() {
        assert!(colour(None, false, true));
        assert!(!colour(None, false, false));
        assert!(!colour(None, true, true));
        assert!(colour(Some("1"), true, false));
        assert!(!colour(Some("0"), false, true));
        assert!(!colour(Some("maybe"), false, false));
    }
}
