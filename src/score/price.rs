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
    /// (ln price, item) of the priced items, ascending, and whether some item has no
    /// price: the index path's inverted list (sorted on first use).
    sorted: std::sync::OnceLock<(Vec<(f32, u32)>, bool)>,
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
        Self { log_price, min_spread: params.min_log_spread.max(1e-3), sorted: Default::default() }
    }

    /// An item's score in `band` (the formula of [`Scorer::score_all`]).
    fn score_in(band: PriceBand, lp: f32) -> f32 {
        if lp.is_finite() {
            let z = (lp - band.mean_log) / band.spread_log;
            (-0.5 * z * z).exp()
        } else {
            0.0
        }
    }

    fn sorted(&self) -> &(Vec<(f32, u32)>, bool) {
        self.sorted.get_or_init(|| {
            let mut v: Vec<(f32, u32)> = self
                .log_price
                .iter()
                .enumerate()
                .filter(|(_, lp)| lp.is_finite())
                .map(|(i, &lp)| (lp, i as u32))
                .collect();
            v.sort_unstable_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            let missing = v.len() < self.log_price.len();
            (v, missing)
        })
    }

    /// The exact top-`n`: items by closeness of ln price to the band's centre, walking
    /// outwards from it in both directions (scores fall monotonically either way).
    fn nearest_prices(&self, band: PriceBand, query: &super::IndexQuery<'_>) -> super::IndexTop {
        let (sorted, missing) = self.sorted();
        let score = |k: usize| sorted.get(k).map_or(f32::NEG_INFINITY, |&(lp, _)| Self::score_in(band, lp));
        let ends = [score(0), sorted.len().checked_sub(1).map_or(f32::NEG_INFINITY, score)];
        let mut lo = ends.iter().copied().filter(|v| v.is_finite()).fold(f32::INFINITY, f32::min);
        if *missing {
            lo = lo.min(0.0);
        }
        let start = sorted.partition_point(|&(lp, _)| lp < band.mean_log);
        let first = start.checked_sub(1).map_or(f32::NEG_INFINITY, score).max(score(start));
        let mut hi = if *missing { first.max(0.0) } else { first };
        if sorted.is_empty() {
            (lo, hi) = (0.0, 0.0);
        }
        let (mut left, mut right) = (start, start);
        let mut kept: Vec<(u32, f32)> = Vec::new();
        let mut scanned = 0usize;
        loop {
            let l = left.checked_sub(1).map_or(f32::NEG_INFINITY, score);
            let r = score(right);
            let next = l.max(r);
            let full = query.n.checked_sub(1).is_none_or(|k| kept.get(k).is_some_and(|&(_, s)| next < s));
            if next.is_nan() || next <= 0.0 || full {
                break;
            }
            let k = if l >= r {
                left -= 1;
                left
            } else {
                right += 1;
                right - 1
            };
            scanned += 1;
            if let Some(&(_, item)) = sorted.get(k)
                && !(query.skip)(item)
            {
                kept.push((item, next));
            }
        }
        let items = super::topk::top_k_pairs(kept, query.n).into_iter().map(|(i, _)| i).collect();
        super::IndexTop { items, range: (lo, hi), scanned, lookup: None }
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

    fn score_items(&self, ctx: &ScoreContext<'_>, items: &[u32], out: &mut [f32]) {
        let band = self.band(ctx.profile);
        for (o, &i) in out.iter_mut().zip(items) {
            let lp = self.log_price.get(i as usize).copied().unwrap_or(f32::NAN);
            *o = band.map_or(0.0, |b| Self::score_in(b, lp));
        }
    }

    /// Exact: the items sorted by price, walked outwards from the shopper's usual price.
    fn index_top(&self, ctx: &ScoreContext<'_>, query: &super::IndexQuery<'_>) -> Option<super::IndexTop> {
        Some(match self.band(ctx.profile) {
            Some(band) => self.nearest_prices(band, query),
            None => super::IndexTop { range: (0.0, 0.0), ..Default::default() },
        })
    }

    fn build_index(&self) {
        self.sorted();
    }

    /// Scores from the shopper's history at scoring time: live events need nothing more;
    /// new items' prices are read by fitting again (one pass over the catalogue).
    fn live_update(&self, change: &super::LiveChange<'_>) -> super::LiveUpdate {
        if !change.catalogue_grew() {
            return super::LiveUpdate::FromProfile;
        }
        let params = PriceParams { min_log_spread: self.min_spread };
        super::LiveUpdate::Updated(Arc::new(Self::fit(change.catalogue, &params)), "new items' prices read".to_owned())
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
