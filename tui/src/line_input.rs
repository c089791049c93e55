//! One line of text being typed, with a cursor and the shell's editing keys: arrows,
//! Home/End (Ctrl-A/Ctrl-E), Backspace/Delete, Ctrl-U (to the start), Ctrl-K (to the end),
//! Ctrl-W (the word before the cursor). Used by prompts, forms and the login screen.

/// An edit other than typing a character.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineEdit {
    Left,
    Right,
    Home,
    End,
    /// Backspace.
    DeleteBack,
    /// Delete.
    DeleteForward,
    KillToStart,
    KillToEnd,
    KillWordBack,
}

/// The text and where the cursor is (in characters).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LineInput {
    text: String,
    cursor: usize,
}

impl LineInput {
    /// A line holding `text`, the cursor at its end.
    pub fn new(text: &str) -> LineInput {
        LineInput {
            text: text.to_string(),
            cursor: text.chars().count(),
        }
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    /// The cursor, in characters from the start.
    pub fn cursor(&self) -> usize {
        self.cursor
    }

    /// The text before and after the cursor.
    pub fn split(&self) -> (&str, &str) {
        self.text.split_at(self.byte(self.cursor))
    }

    fn byte(&self, chars: usize) -> usize {
        self.text
            .char_indices()
            .nth(chars)
            .map_or(self.text.len(), |(i, _)| i)
    }

    fn len(&self) -> usize {
        self.text.chars().count()
    }

    pub fn insert(&mut self, c: char) {
        let at = self.byte(self.cursor);
        self.text.insert(at, c);
        self.cursor += 1;
    }

    /// Removes characters `from..to` (in characters) and puts the cursor at `from`.
    fn remove(&mut self, from: usize, to: usize) {
        let (start, end) = (self.byte(from), self.byte(to));
        self.text.replace_range(start..end, "");
        self.cursor = from;
    }

    pub fn edit(&mut self, edit: LineEdit) {
        let len = self.len();
        match edit {
            LineEdit::Left => self.cursor = self.cursor.saturating_sub(1),
            LineEdit::Right => self.cursor = (self.cursor + 1).min(len),
            LineEdit::Home => self.cursor = 0,
            LineEdit::End => self.cursor = len,
            LineEdit::DeleteBack if self.cursor > 0 => self.remove(self.cursor - 1, self.cursor),
            LineEdit::DeleteForward if self.cursor < len => {
                self.remove(self.cursor, self.cursor + 1)
            }
            LineEdit::DeleteBack | LineEdit::DeleteForward => {}
            LineEdit::KillToStart => self.remove(0, self.cursor),
            LineEdit::KillToEnd => self.remove(self.cursor, len),
            LineEdit::KillWordBack => {
                let chars: Vec<char> = self.text.chars().collect();
                let mut start = self.cursor;
                while start > 0 && chars[start - 1].is_whitespace() {
                    start -= 1;
                }
                while start > 0 && !chars[start - 1].is_whitespace() {
                    start -= 1;
                }
                self.remove(start, self.cursor);
            }
        }
    }

    /// Empties the line and wipes what it held (a password).
    pub fn clear(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.text);
        self.cursor = 0;
    }
}

impl Drop for LineInput {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.text);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn typed(text: &str) -> LineInput {
        let mut line = LineInput::default();
        text.chars().for_each(|c| line.insert(c));
        line
    }

    #[test]
    // Guards against Ctrl-U typing a "u" instead of clearing the line.
    fn ctrl_u_and_ctrl_w_kill_back_from_the_cursor() {
        let mut line = typed("customer 7 since 2026-01-01");
        line.edit(LineEdit::KillWordBack);
        assert_eq!(line.text(), "customer 7 since ");
        line.edit(LineEdit::KillWordBack);
        assert_eq!(line.text(), "customer 7 ");
        line.edit(LineEdit::KillToStart);
        assert_eq!((line.text(), line.cursor()), ("", 0));
    }

    #[test]
    fn arrows_move_and_typing_inserts_at_the_cursor() {
        let mut line = typed("Zoë 7");
        line.edit(LineEdit::Left);
        line.edit(LineEdit::Left);
        line.insert('!');
        assert_eq!(line.text(), "Zoë! 7");
        assert_eq!(line.split(), ("Zoë!", " 7"));
        line.edit(LineEdit::Home);
        line.edit(LineEdit::DeleteForward);
        assert_eq!(line.text(), "oë! 7");
        line.edit(LineEdit::End);
        line.edit(LineEdit::DeleteBack);
        assert_eq!(line.text(), "oë! ");
        line.edit(LineEdit::Home);
        line.edit(LineEdit::KillToEnd);
        assert_eq!(line.text(), "");
    }
}
