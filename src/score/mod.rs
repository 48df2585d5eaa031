//! Signals (scorers): each is fitted once on training interactions, then scores every
//! item for a shopper (or a query) cheaply and explains itself with evidence.
//!
//! One file per signal; all share the [`Scorer`] trait. Nothing here knows about the GUI.

pub mod als;
mod als_kernels;
pub mod bm25;
pub mod category;
pub mod external;
pub mod freshness;
pub mod interactions;
pub mod item_cf;
pub mod params;
pub mod popularity;
pub mod price;
pub mod registry;
pub mod semantic;
pub mod sequential;
pub mod signal;
pub mod topk;
pub mod transformer;
pub mod user_cf;

pub use interactions::{EventKind, HistoryEvent, Interactions, LiveDelta, SparseRows, UserProfile, ValueTransform};
pub use params::SignalParams;
pub use registry::{FitInput, Fitted, SignalModels, SignalSpec, fit_signals};
pub use signal::SignalId;

/// Every signal, in display order. Adding a signal: its file, a `pub mod` line above, and
/// one line here (see [`registry`]).
pub static SIGNALS: &[&SignalSpec] = &[
    &semantic::SPEC,
    &item_cf::SPEC,
    &user_cf::SPEC,
    &als::SPEC,
    &popularity::SPEC,
    &freshness::SPEC,
    &price::SPEC,
    &category::SPEC,
    &sequential::SPEC,
    &bm25::SPEC,
    &transformer::SPEC,
];

use crate::data::Catalogue;

/// A search query: its text, tokens and (when a model is loaded) its embedding.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Query {
    /// The query as typed.
    pub text: String,
    /// The query's sentence embedding, when the semantic model is available.
    pub embedding: Option<Vec<f32>>,
}

/// Who (or what) is being scored.
#[derive(Debug, Clone, Copy)]
pub struct ScoreContext<'a> {
    /// The shopper (cold when unknown).
    pub profile: &'a UserProfile,
    /// The search query in search mode.
    pub query: Option<&'a Query>,
}

/// Live events just folded into the training interactions (see [`Scorer::live_update`]).
#[derive(Clone, Copy)]
pub struct LiveChange<'a> {
    /// The interactions with the events folded in.
    pub interactions: &'a Interactions,
    /// What changed.
    pub delta: &'a LiveDelta,
    /// The catalogue.
    pub catalogue: &'a Catalogue,
}

/// How a signal took in live events.
pub enum LiveUpdate {
    /// The signal reads the shopper's history when it scores: the updated history is all
    /// it needs (nothing fitted depends on the events).
    FromProfile,
    /// A new scorer with the events folded in, and what was done (for the user).
    Updated(std::sync::Arc<dyn Scorer>, String),
    /// Not updated: the signal is stale until a refit (why).
    Stale(String),
}

/// A fitted signal.
pub trait Scorer: Send + Sync {
    /// Which signal this is.
    fn id(&self) -> SignalId;

    /// Writes a score for every catalogue item into `out` (length = catalogue size).
    /// Items the signal has no opinion about get 0. Scores are finite.
    fn score_all(&self, ctx: &ScoreContext<'_>, out: &mut [f32]);

    /// A short sentence explaining why `item` scores high for this shopper, if the
    /// signal can say.
    fn evidence(&self, ctx: &ScoreContext<'_>, item: u32, catalogue: &Catalogue) -> Option<String>;

    /// Takes in live events without a refit, where that is cheap. The default says the
    /// signal is stale until it is fitted again.
    fn live_update(&self, _change: &LiveChange<'_>) -> LiveUpdate {
        LiveUpdate::Stale("no incremental update: stale until a refit".to_owned())
    }
}

/// Formats a list of item titles as "X", "X and Y" or "X, Y and Z".
pub fn title_list(catalogue: &Catalogue, items: &[u32]) -> String {
    let titles: Vec<String> = items.iter().map(|&i| format!("“{}”", short_title(catalogue.title(i)))).collect();
    match titles.as_slice() {
        [] => String::new(),
        [a] => a.clone(),
        [rest @ .., last] => format!("{} and {}", rest.join(", "), last),
    }
}

/// A title cut to 48 characters for evidence sentences.
pub fn short_title(t: &str) -> String {
    crate::data::report::shorten(t, 48)
}

/// What the shopper did with `items`, grouped by action: "you bought “A” and “B”",
/// "you rated “C” 5★", "you viewed “D”" (joined with "; "). Each item is named by its
/// strongest event ([`UserProfile::strongest_event`]); items without an event count as
/// bought only when the profile has no events at all (hand-built profiles).
pub fn actions_on(profile: &UserProfile, catalogue: &Catalogue, items: &[u32]) -> String {
    let mut groups: Vec<(EventKind, Vec<String>)> = Vec::new();
    for &item in items {
        let event = profile.strongest_event(item);
        let kind = event.map_or(EventKind::Other, |e| e.kind);
        let kind = if event.is_none() && profile.events.is_empty() { EventKind::Purchase } else { kind };
        let title = format!("“{}”", short_title(catalogue.title(item)));
        let named = match event.and_then(|e| e.rating) {
            Some(r) => format!("{title} {}★", format_rating(r)),
            None => title,
        };
        match groups.iter_mut().find(|(k, _)| *k == kind) {
            Some((_, names)) => names.push(named),
            None => groups.push((kind, vec![named])),
        }
    }
    groups.sort_by_key(|(k, _)| *k);
    let phrases: Vec<String> = groups
        .into_iter()
        .map(|(kind, names)| {
            let list = match names.as_slice() {
                [rest @ .., last] if !rest.is_empty() => format!("{} and {}", rest.join(", "), last),
                _ => names.concat(),
            };
            format!("you {} {list}", kind.verb())
        })
        .collect();
    phrases.join("; ")
}

/// A rating as shown in evidence: "5", "4.5".
fn format_rating(r: f32) -> String {
    if (r - r.round()).abs() < 1e-6 { format!("{:.0}", r) } else { format!("{r:.1}") }
}
