//! Signal identities: the stable ids used by the CLI, sessions and the GUI.
//!
//! A [`SignalId`] is the signal's stable text id; everything else about a signal (label,
//! colour, default weights, how it is fitted) is in its [`SignalSpec`](super::registry::SignalSpec)
//! in the [registry](super::registry). Order follows the registry (display order).

use std::cmp::Ordering;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::registry;

/// One recommender signal, by stable id (`item_cf`, …).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SignalId(&'static str);

impl SignalId {
    /// A signal id; only the registry and signal files create them.
    pub(crate) const fn new(id: &'static str) -> Self {
        Self(id)
    }

    /// Every registered signal, in display order.
    pub fn all() -> impl Iterator<Item = SignalId> + Clone {
        registry::SIGNALS.iter().map(|s| s.id)
    }

    /// Signals used to recommend for a shopper (everything that is not search-only).
    pub fn recommend() -> impl Iterator<Item = SignalId> + Clone {
        registry::SIGNALS.iter().filter(|s| !s.search_only).map(|s| s.id)
    }

    /// Number of registered signals (the length of dense per-signal arrays).
    pub fn count() -> usize {
        registry::SIGNALS.len()
    }

    /// Stable id (`item_cf`, …).
    pub fn id(self) -> &'static str {
        self.0
    }

    /// Parses a stable id.
    pub fn from_id(id: &str) -> Option<SignalId> {
        let id = id.trim();
        Self::all().find(|s| s.id() == id)
    }

    /// Name for people.
    pub fn label(self) -> &'static str {
        registry::spec(self).map_or(self.0, |s| s.label)
    }

    /// Position in the registry, for dense per-signal arrays.
    pub fn index(self) -> usize {
        registry::SIGNALS.iter().position(|s| s.id == self).unwrap_or(0)
    }

    /// The stable ids of every signal, comma-separated (for messages).
    pub fn id_list() -> String {
        Self::all().map(|s| s.id()).collect::<Vec<_>>().join(", ")
    }
}

impl PartialOrd for SignalId {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for SignalId {
    fn cmp(&self, other: &Self) -> Ordering {
        self.index().cmp(&other.index()).then_with(|| self.0.cmp(other.0))
    }
}

impl std::fmt::Display for SignalId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.id())
    }
}

impl Serialize for SignalId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.0)
    }
}

impl<'de> Deserialize<'de> for SignalId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = SignalId;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "a signal id (one of {})", SignalId::id_list())
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<SignalId, E> {
                SignalId::from_id(v)
                    .ok_or_else(|| E::custom(format!("unknown signal '{v}' (expected one of {})", SignalId::id_list())))
            }
        }
        deserializer.deserialize_str(Visitor)
    }
}
