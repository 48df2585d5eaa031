//! `price`: how close an item's price is to the prices the shopper usually pays.

use std::sync::Arc;

use super::interactions::UserProfile;
use super::params::PriceParams;
use super::registry::{Fitted, SignalSpec};
use super::{ScoreContext, Scorer, SignalId};
use crate::data::Catalogue;

/// The user's band is the weighted mean and spread of log prices of positively
/// interacted items; an item scores `exp(-z²/2)` with `z` its distance in spreads.
pub struct PriceScorer {
    log_price: Vec<f32>,
    min_spread: f32,
}

/// A shopper's price band.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PriceBand {
    /// Weighted mean of ln(price).
    pub mean_log: f32,
    /// Weighted standard deviation of ln(price), at least the minimum spread.
    pub spread_log: f32,
}

impl PriceScorer {
    /// Reads the catalogue's prices (items without a price score 0).
    pub fn fit(catalogue: &Catalogue, params: &PriceParams) -> Self {
        let log_price =
            catalogue.prices.iter().map(|&p| if p.is_finite() && p > 0.0 { p.ln() } else { f32::NAN }).collect();
        Self { log_price, min_spread: params.min_log_spread.max(1e-3) }
    }

    /// The shopper's band, or `None` without priced history.
    pub fn band(&self, profile: &UserProfile) -> Option<PriceBand> {
        let (mut sw, mut sx, mut sxx) = (0.0f64, 0.0f64, 0.0f64);
        for &(item, w) in &profile.items {
            let Some(&lp) = self.log_price.get(item as usize) else { continue };
            if !lp.is_finite() {
                continue;
            }
            let w = f64::from(w);
            sw += w;
            sx += w * f64::from(lp);
            sxx += w * f64::from(lp) * f64::from(lp);
        }
        if sw <= 0.0 {
            return None;
        }
        let mean = sx / sw;
        let var = (sxx / sw - mean * mean).max(0.0);
        Some(PriceBand { mean_log: mean as f32, spread_log: (var.sqrt() as f32).max(self.min_spread) })
    }
}

impl Scorer for PriceScorer {
    fn id(&self) -> SignalId {
        SignalId::PRICE
    }

    fn score_all(&self, ctx: &ScoreContext<'_>, out: &mut [f32]) {
        let Some(band) = self.band(ctx.profile) else {
            out.iter_mut().for_each(|o| *o = 0.0);
            return;
        };
        for (o, &lp) in out.iter_mut().zip(&self.log_price) {
            *o = if lp.is_finite() {
                let z = (lp - band.mean_log) / band.spread_log;
                (-0.5 * z * z).exp()
            } else {
                0.0
            };
        }
    }

    /// Scores from the shopper's history at scoring time: live events need nothing more.
    fn live_update(&self, _change: &super::LiveChange<'_>) -> super::LiveUpdate {
        super::LiveUpdate::FromProfile
    }

    fn evidence(&self, ctx: &ScoreContext<'_>, item: u32, catalogue: &Catalogue) -> Option<String> {
        let band = self.band(ctx.profile)?;
        let price = catalogue.price(item)?;
        let lo = (band.mean_log - band.spread_log).exp();
        let hi = (band.mean_log + band.spread_log).exp();
        let inside = price >= lo && price <= hi;
        Some(format!(
            "{} your usual price range ({lo:.2}–{hi:.2}); this costs {price:.2}",
            if inside { "within" } else { "near" }
        ))
    }
}

impl SignalId {
    /// The `price` signal.
    pub const PRICE: SignalId = SignalId::new("price");
}

/// Registry entry of `price`.
pub(crate) const SPEC: SignalSpec = SignalSpec {
    id: SignalId::PRICE,
    label: "Price",
    color: [0xb0, 0x7a, 0xa1],
    default_weight: 0.05,
    default_search_weight: 0.0,
    search_only: false,
    search_source: false,
    params_summary: |_| String::new(),
    needs_vectors: false,
    fit: |input, params, _| {
        Ok(if input.catalogue.has_prices() {
            Fitted::Ready(Arc::new(PriceScorer::fit(input.catalogue, &params.price)))
        } else {
            Fitted::Unavailable("the catalogue has no prices".to_owned())
        })
    },
};
