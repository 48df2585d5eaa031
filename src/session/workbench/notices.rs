//! Messages for the user: fallbacks, errors and confirmations, each shown until dismissed
//! or until the data they are about is replaced; then they move to the history.

/// How important a notice is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoticeLevel {
    /// For information.
    Info,
    /// Something degraded (fallback, unavailable signal).
    Warning,
    /// Something failed.
    Error,
}

/// A message shown to the user until dismissed.
#[derive(Debug, Clone, PartialEq)]
pub struct Notice {
    /// Importance.
    pub level: NoticeLevel,
    /// Text.
    pub text: String,
}

/// The notices, oldest first; the same text is never listed twice.
#[derive(Debug, Clone, Default)]
pub struct Notices {
    list: Vec<Notice>,
    /// Notices taken off the list (dismissed, or about data that was replaced), oldest
    /// first, at most [`HISTORY_LIMIT`].
    history: Vec<Notice>,
}

/// The most notices the history keeps (the oldest go first).
pub const HISTORY_LIMIT: usize = 500;

impl Notices {
    /// Adds a notice unless the same text is already shown.
    pub fn push(&mut self, level: NoticeLevel, text: impl Into<String>) {
        let text = text.into();
        if !self.list.iter().any(|n| n.text == text) {
            self.list.push(Notice { level, text });
        }
    }

    /// Removes the notice at `i` (nothing when out of range).
    pub fn dismiss(&mut self, i: usize) {
        if i < self.list.len() {
            let notice = self.list.remove(i);
            self.keep(notice);
        }
    }

    /// Moves every shown notice to the history: new data replaced the data they were about
    /// (an error of a failed load, notes of the old files).
    pub fn retire(&mut self) {
        for notice in std::mem::take(&mut self.list) {
            self.keep(notice);
        }
    }

    /// Notices no longer shown, oldest first.
    pub fn history(&self) -> &[Notice] {
        &self.history
    }

    fn keep(&mut self, notice: Notice) {
        self.history.retain(|n| n.text != notice.text);
        self.history.push(notice);
        if self.history.len() > HISTORY_LIMIT {
            let excess = self.history.len() - HISTORY_LIMIT;
            self.history.drain(..excess);
        }
    }

    /// Every notice, oldest first.
    pub fn all(&self) -> &[Notice] {
        &self.list
    }
}

impl std::ops::Deref for Notices {
    type Target = [Notice];

    fn deref(&self) -> &[Notice] {
        &self.list
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retired_and_dismissed_notices_move_to_a_bounded_history() {
        let mut n = Notices::default();
        n.push(NoticeLevel::Error, "a.csv: no user id column");
        n.push(NoticeLevel::Info, "b.csv: decoded as Latin-1");
        n.push(NoticeLevel::Info, "b.csv: decoded as Latin-1");
        assert_eq!(n.all().len(), 2);
        n.dismiss(1);
        assert_eq!(n.all().len(), 1);
        assert_eq!(n.history().len(), 1);
        n.retire();
        assert!(n.all().is_empty());
        let texts: Vec<&str> = n.history().iter().map(|x| x.text.as_str()).collect();
        assert_eq!(texts, ["b.csv: decoded as Latin-1", "a.csv: no user id column"]);
        for i in 0..HISTORY_LIMIT + 10 {
            n.push(NoticeLevel::Info, format!("note {i}"));
            n.retire();
        }
        assert_eq!(n.history().len(), HISTORY_LIMIT);
        assert_eq!(n.history().last().map(|x| x.text.as_str()), Some("note 509"));
    }
}
