//! String ids mapped to dense `u32` indices.

use std::collections::HashMap;

/// Maps external string ids (item ids, user ids) to dense indices `0..len` and back.
#[derive(Debug, Clone, Default)]
pub struct Interner {
    names: Vec<String>,
    index: HashMap<String, u32>,
}

impl Interner {
    /// An empty interner.
    pub fn new() -> Self {
        Self::default()
    }

    /// The index of `name`, inserting it if new.
    pub fn intern(&mut self, name: &str) -> u32 {
        if let Some(&i) = self.index.get(name) {
            return i;
        }
        let i = self.names.len() as u32;
        self.names.push(name.to_owned());
        self.index.insert(name.to_owned(), i);
        i
    }

    /// The index of `name`, if known.
    pub fn get(&self, name: &str) -> Option<u32> {
        self.index.get(name).copied()
    }

    /// The external id of index `i`.
    pub fn name(&self, i: u32) -> &str {
        self.names.get(i as usize).map(String::as_str).unwrap_or("")
    }

    /// Number of distinct ids.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// Whether no id was interned.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// All external ids in index order.
    pub fn names(&self) -> &[String] {
        &self.names
    }
}
