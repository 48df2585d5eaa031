//! Signal identities: the stable ids used by the CLI, sessions and the GUI.
//!
//! A [`SignalId`] is the signal's stable text id; everything else about a signal (label,
//! colour, default weights, how it is fitted) is in its [`SignalSpec`](super::registry::SignalSpec)
//! in the [registry](super::registry). Order follows the registry (display order).

use std::cmp::Ordering;
use std::sync::{Mutex, OnceLock};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::registry;

/// One recommender signal, by stable id (`item_cf`, …): a built-in signal of the
/// registry, or an external signal imported from a score file ([`SignalId::external`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SignalId(&'static str);

/// Most distinct external signal names one process interns. Each name is at most
/// [`MAX_EXTERNAL_NAME_LEN`] bytes and is stored once for the life of the process, so the
/// interned names take at most 10 KiB whatever the input.
pub const MAX_EXTERNAL_NAMES: usize = 256;
/// Longest external signal name, in bytes.
pub const MAX_EXTERNAL_NAME_LEN: usize = 40;

/// The interned external names, in the order they were first seen (their display order,
/// after the built-in signals). Readers scan without locking; writers hold [`INTERN_LOCK`].
static EXTERNAL: [OnceLock<&'static str>; MAX_EXTERNAL_NAMES] = [const { OnceLock::new() }; MAX_EXTERNAL_NAMES];
static INTERN_LOCK: Mutex<()> = Mutex::new(());

/// Why a name cannot be an external signal's id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignalNameError {
    /// Empty, too long, or a character outside `a-z 0-9 _ -`.
    #[error(
        "signal name '{0}': use 1 to {MAX_EXTERNAL_NAME_LEN} characters, each a lower-case letter a-z, a digit, '_' or '-'"
    )]
    Invalid(String),
    /// The name of a built-in signal.
    #[error("signal name '{0}' is a built-in signal; choose another name")]
    BuiltIn(String),
    /// More distinct external names than one run accepts.
    #[error("signal name '{0}': at most {MAX_EXTERNAL_NAMES} distinct external signal names per run")]
    TooMany(String),
}

/// Whether `name` is a well-formed external signal name (1–40 of `a-z 0-9 _ -`).
pub fn is_valid_external_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_EXTERNAL_NAME_LEN
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

fn externals() -> impl Iterator<Item = &'static str> + Clone {
    EXTERNAL.iter().map_while(|slot| slot.get().copied())
}

impl SignalId {
    /// A signal id; only the registry and signal files create them.
    pub(crate) const fn new(id: &'static str) -> Self {
        Self(id)
    }

    /// The external signal named `name` (interned: the same name gives the same id).
    /// Names are 1–40 of `a-z 0-9 _ -` and must not be a built-in signal's id.
    pub fn external(name: &str) -> Result<SignalId, SignalNameError> {
        if !is_valid_external_name(name) {
            return Err(SignalNameError::Invalid(crate::data::report::shorten(name, 60)));
        }
        if registry::SIGNALS.iter().any(|s| s.id.0 == name) {
            return Err(SignalNameError::BuiltIn(name.to_owned()));
        }
        if let Some(found) = externals().find(|n| *n == name) {
            return Ok(SignalId(found));
        }
        let _guard = INTERN_LOCK.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        // Another thread may have interned it meanwhile.
        if let Some(found) = externals().find(|n| *n == name) {
            return Ok(SignalId(found));
        }
        let slot = EXTERNAL
            .iter()
            .find(|slot| slot.get().is_none())
            .ok_or_else(|| SignalNameError::TooMany(name.to_owned()))?;
        let leaked: &'static str = Box::leak(name.to_owned().into_boxed_str());
        Ok(SignalId(slot.get_or_init(|| leaked)))
    }

    /// Whether this is an external signal (imported from a score file), not a built-in one.
    pub fn is_external(self) -> bool {
        registry::spec(self).is_none()
    }

    /// Every built-in signal, then every external signal named so far, in display order.
    pub fn all() -> impl Iterator<Item = SignalId> + Clone {
        registry::SIGNALS.iter().map(|s| s.id).chain(externals().map(SignalId))
    }

    /// Signals used to recommend for a shopper: every built-in signal that is not
    /// search-only, and the external signals.
    pub fn recommend() -> impl Iterator<Item = SignalId> + Clone {
        registry::SIGNALS.iter().filter(|s| !s.search_only).map(|s| s.id).chain(externals().map(SignalId))
    }

    /// Signals used in search mode: the built-in ones (external signals score shoppers
    /// only, so they are off in search).
    pub fn search() -> impl Iterator<Item = SignalId> + Clone {
        registry::SIGNALS.iter().map(|s| s.id)
    }

    /// Number of signals known so far, built-in and external.
    pub fn count() -> usize {
        registry::SIGNALS.len() + externals().count()
    }

    /// Stable id (`item_cf`, …).
    pub fn id(self) -> &'static str {
        self.0
    }

    /// Parses a stable id: a built-in signal, or an external signal named so far.
    pub fn from_id(id: &str) -> Option<SignalId> {
        let id = id.trim();
        Self::all().find(|s| s.id() == id)
    }

    /// Name for people (an external signal's is its name).
    pub fn label(self) -> &'static str {
        registry::spec(self).map_or(self.0, |s| s.label)
    }

    /// Display position: the registry's order, then external signals in the order they
    /// were named.
    pub fn index(self) -> usize {
        match registry::SIGNALS.iter().position(|s| s.id == self) {
            Some(i) => i,
            None => registry::SIGNALS.len() + externals().position(|n| n == self.0).unwrap_or(MAX_EXTERNAL_NAMES),
        }
    }

    /// The stable ids of every signal, comma-separated (for messages).
    pub fn id_list() -> String {
        Self::all().map(|s| s.id()).collect::<Vec<_>>().join(", ")
    }

    /// The ids of the built-in signals, comma-separated (for messages).
    pub fn builtin_id_list() -> String {
        Self::search().map(|s| s.id()).collect::<Vec<_>>().join(", ")
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
                write!(f, "a signal id (one of {}, or an external signal's name)", SignalId::id_list())
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<SignalId, E> {
                // A name that is not built in is an external signal's (a session names the
                // score files that provide them; `Session::check` matches the two).
                match SignalId::from_id(v) {
                    Some(s) => Ok(s),
                    None => SignalId::external(v).map_err(|e| {
                        E::custom(format!("unknown signal '{v}' (built-in: {}; {e})", SignalId::builtin_id_list()))
                    }),
                }
            }
        }
        deserializer.deserialize_str(Visitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn external_names_are_checked_interned_and_ordered_after_the_registry() {
        let a = SignalId::external("ext_unit-1").expect("valid");
        assert_eq!(SignalId::external("ext_unit-1"), Ok(a), "the same name is the same id");
        assert!(a.is_external() && !SignalId::ALS.is_external());
        assert_eq!(SignalId::from_id("ext_unit-1"), Some(a));
        assert_eq!(a.label(), "ext_unit-1");
        assert!(a.index() >= registry::SIGNALS.len() && SignalId::ALS < a);
        assert!(SignalId::recommend().any(|s| s == a) && SignalId::search().all(|s| s != a));
        assert_eq!(SignalId::external("als"), Err(SignalNameError::BuiltIn("als".into())));
        for bad in ["", "Upper", "has space", "dot.name", &"x".repeat(41)] {
            assert!(matches!(SignalId::external(bad), Err(SignalNameError::Invalid(_))), "{bad:?}");
        }
        assert!(SignalId::external(&"x".repeat(40)).is_ok());
        let json = serde_json::to_string(&a).expect("ser");
        assert_eq!(json, "\"ext_unit-1\"");
        assert_eq!(serde_json::from_str::<SignalId>(&json).expect("de"), a);
    }
}
