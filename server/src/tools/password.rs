//! Where the tools' passwords come from: a file named on the command line (`--password-file`,
//! restic's habit), else a variable of the environment, else a prompt on the terminal. Never
//! the command line itself, which every user of the machine can read in `ps`.

use super::secrets::Secrets;
use anyhow::{bail, Context};
use std::path::Path;
use zeroize::Zeroizing;

/// The longest password a file may hold (the server takes 1 to 1024 bytes).
const MAX_PASSWORD_BYTES: u64 = 1024;

/// A password and the variable or option that would have given it, for the messages.
pub struct Source<'a> {
    /// `--password-file`, if given.
    pub file: Option<&'a Path>,
    /// The variable read when there is no file (`CRM_PASSWORD`, `CRM_NEW_PASSWORD`).
    pub variable: &'static str,
    /// What the prompt asks for.
    pub prompt: String,
    /// Whether a prompted password is asked twice (a new one, mistyped, locks its user out).
    pub confirm: bool,
}

/// The password: from the file, else the variable, else the terminal. With none of the three,
/// an error saying what to set (a process without a terminal cannot be asked).
pub fn password(source: &Source, secrets: &Secrets) -> anyhow::Result<Zeroizing<String>> {
    if let Some(file) = source.file {
        return read_password_file(file);
    }
    if let Some(password) = secrets.get(source.variable) {
        return Ok(Zeroizing::new(password.to_string()));
    }
    if secrets.was_given(source.variable) {
        bail!("{} is set but empty", source.variable);
    }
    let no_terminal = |error: std::io::Error| {
        anyhow::anyhow!(
            "no password: set {} or give --password-file FILE (there is no terminal to ask on: {error})",
            source.variable
        )
    };
    let first = Zeroizing::new(rpassword::prompt_password(&source.prompt).map_err(no_terminal)?);
    if source.confirm {
        let again = Zeroizing::new(rpassword::prompt_password("again: ").map_err(no_terminal)?);
        if again != first {
            bail!("the two passwords differ: nothing was changed");
        }
    }
    if first.is_empty() {
        bail!("the password is empty");
    }
    Ok(first)
}

/// Reads a password file: its first line, without the line ending.
fn read_password_file(file: &Path) -> anyhow::Result<Zeroizing<String>> {
    use std::io::Read;
    let opened = std::fs::File::open(file)
        .with_context(|| format!("reading the password file {}", file.display()))?;
    let mut text = Zeroizing::new(String::new());
    opened
        .take(MAX_PASSWORD_BYTES + 3)
        .read_to_string(&mut text)
        .with_context(|| format!("reading the password file {}", file.display()))?;
    let password = text.split(['\n', '\r']).next().unwrap_or_default();
    if password.is_empty() {
        bail!("the password file {} is empty", file.display());
    }
    if password.len() as u64 > MAX_PASSWORD_BYTES {
        bail!(
            "the password in {} is longer than {MAX_PASSWORD_BYTES} bytes",
            file.display()
        );
    }
    Ok(Zeroizing::new(password.to_string()))
}
