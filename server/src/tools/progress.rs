//! Progress bars of the tools: drawn on stderr only when it is a terminal, so a log file or a
//! pipe never gets their control codes.

use crm_engine::backup::ReadProgress;
use std::io::IsTerminal;

/// A bar with this indicatif template, hidden unless stderr is a terminal.
pub fn terminal_bar(template: &str) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::hidden();
    if std::io::stderr().is_terminal() {
        bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
    }
    bar.set_style(
        indicatif::ProgressStyle::with_template(template)
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    bar
}

/// The bar of `verify` and `restore`: the stage, the bytes and the chunks done of the total.
pub fn backup_bar() -> indicatif::ProgressBar {
    terminal_bar("{prefix:>9} [{bar:30}] {bytes}/{total_bytes}, {msg}")
}

/// Moves a [`backup_bar`] to where the verification or the restore is.
pub fn show_backup_progress(bar: &indicatif::ProgressBar, progress: ReadProgress) {
    bar.set_prefix(progress.stage.describe());
    bar.set_length(progress.total_bytes);
    bar.set_position(progress.bytes);
    bar.set_message(match progress.total_chunks {
        0 if progress.chunks == 0 => "the restored store".to_string(),
        0 => format!("chunk {}", progress.chunks),
        total => format!("chunk {}/{total}", progress.chunks),
    });
}
