//! Event types and the weight each one carries.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The canonical event type names RecFuse knows. Free-text types are kept as given.
pub mod event_type {
    /// Looked at an item page.
    pub const VIEW: &str = "view";
    /// Clicked an item.
    pub const CLICK: &str = "click";
    /// Added to cart.
    pub const CART: &str = "cart";
    /// Bought.
    pub const PURCHASE: &str = "purchase";
    /// Cancelled an order line.
    pub const CANCEL: &str = "cancel";
    /// Returned an item.
    pub const RETURN: &str = "return";
    /// An explicit rating (weight from the rating rule).
    pub const RATING: &str = "rating";
    /// A stock adjustment or non-positive quantity on a normal invoice (weight 0).
    pub const ADJUSTMENT: &str = "adjustment";
    /// An event of unspecified type (the file has no event type, rating or invoice).
    pub const INTERACTION: &str = "interaction";
}

/// Maps common spellings of event types to the canonical names; others are lower-cased.
pub fn normalise_event_type(raw: &str) -> String {
    let lower = raw.trim().to_lowercase();
    let key: String = lower.chars().filter(|c| c.is_alphanumeric()).collect();
    let canonical = match key.as_str() {
        "view" | "views" | "pageview" | "detail" | "detailview" | "productview" | "viewed" => event_type::VIEW,
        "click" | "clicks" | "clicked" => event_type::CLICK,
        "cart" | "addtocart" | "addtobasket" | "cartadd" | "basket" | "carted" => event_type::CART,
        "purchase" | "purchased" | "buy" | "bought" | "order" | "transaction" | "checkout" | "sale" => {
            event_type::PURCHASE
        }
        "cancel" | "cancellation" | "cancelled" | "canceled" => event_type::CANCEL,
        "return" | "returned" | "refund" | "refunded" => event_type::RETURN,
        _ => return lower,
    };
    canonical.to_owned()
}

/// How explicit ratings turn into event weights.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RatingRule {
    /// Ratings at or above this are positive.
    pub threshold: f32,
    /// Weight of a positive rating.
    pub positive_weight: f32,
    /// Weight of a rating below the threshold (0 = recorded but carries no preference).
    pub below_weight: f32,
}

impl Default for RatingRule {
    fn default() -> Self {
        Self { threshold: 4.0, positive_weight: 8.0, below_weight: 0.0 }
    }
}

/// Weight per event type (editable, saved with the session).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct EventWeights {
    /// Canonical or free-text event type → weight.
    pub by_type: BTreeMap<String, f32>,
    /// Weight of an event type that is not in `by_type`.
    pub unknown_type: f32,
    /// Rule for explicit ratings.
    pub rating: RatingRule,
}

impl Default for EventWeights {
    fn default() -> Self {
        let by_type = [
            (event_type::VIEW, 1.0),
            (event_type::CLICK, 2.0),
            (event_type::CART, 4.0),
            (event_type::PURCHASE, 8.0),
            (event_type::CANCEL, -8.0),
            (event_type::RETURN, -8.0),
            (event_type::ADJUSTMENT, 0.0),
            (event_type::INTERACTION, 1.0),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        Self { by_type, unknown_type: 1.0, rating: RatingRule::default() }
    }
}

impl EventWeights {
    /// The weight of one event of `event_type`, with `rating` for rating events.
    pub fn weight(&self, event_type: &str, rating: Option<f32>) -> f32 {
        if event_type == event_type::RATING {
            return match rating {
                Some(r) if r >= self.rating.threshold => self.rating.positive_weight,
                Some(_) => self.rating.below_weight,
                None => 0.0,
            };
        }
        self.by_type.get(event_type).copied().unwrap_or(self.unknown_type)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_synonyms() {
        let w = EventWeights::default();
        assert_eq!(w.weight(&normalise_event_type("AddToCart"), None), 4.0);
        assert_eq!(w.weight(&normalise_event_type("transaction"), None), 8.0);
        assert_eq!(w.weight(&normalise_event_type("Cancelled"), None), -8.0);
        assert_eq!(w.weight("wishlist", None), 1.0);
        assert_eq!(w.weight(event_type::RATING, Some(4.0)), 8.0);
        assert_eq!(w.weight(event_type::RATING, Some(3.5)), 0.0);
    }
}
