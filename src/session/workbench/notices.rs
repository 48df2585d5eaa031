//! Messages for the user: fallbacks, errors and confirmations, each shown until dismissed.

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
}

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
            self.list.remove(i);
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
