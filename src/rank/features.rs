//! The ranker's features for one shopper's candidates, and the data fingerprint a model
//! file carries.

use crate::data::{Catalogue, Dataset};
use crate::embed::ItemVectors;
use crate::fusion::CandidateSet;
use crate::fusion::config::Normalisation;
use crate::fusion::normalise::normalise;
use crate::score::{Interactions, SignalId, UserProfile};

/// The cheap features, in their column order after the signal scores.
pub const CHEAP_FEATURES: [&str; 4] = ["log_popularity", "price_vs_band", "item_age", "history_length"];

/// Seconds per day.
const DAY: f64 = 86_400.0;

/// What the features read besides the candidate set.
#[derive(Clone, Copy)]
pub struct FeatureInput<'a> {
    /// The catalogue (prices, creation dates).
    pub catalogue: &'a Catalogue,
    /// The interactions the signals were fitted on (popularity, first appearance, now).
    pub interactions: &'a Interactions,
    /// Item embeddings, when there are some.
    pub vectors: Option<&'a ItemVectors>,
}

/// The feature rows of one shopper's candidates (one row per candidate, in set order).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ShopperRows {
    /// Rows.
    pub n: usize,
    /// `n × (signals + 4)` row-major: min-max-normalised signal scores, then the cheap features.
    pub dense: Vec<f32>,
    /// The candidate items (to look up V_i).
    pub items: Vec<u32>,
    /// The shopper vector V_u (unit length), or empty when there is none.
    pub user: Vec<f32>,
    /// 1 where both V_u and V_i exist, else 0 (their features are zeros then).
    pub flag: Vec<f32>,
}

impl ShopperRows {
    /// The rows at positions `keep` (features as they were: normalised over every row).
    pub fn select(&self, keep: &[usize]) -> ShopperRows {
        let width = self.dense.len().checked_div(self.n).unwrap_or(0);
        let row = |j: usize| self.dense.get(j * width..(j + 1) * width).unwrap_or(&[]);
        ShopperRows {
            n: keep.len(),
            dense: keep.iter().flat_map(|&j| row(j).iter().copied()).collect(),
            items: keep.iter().filter_map(|&j| self.items.get(j).copied()).collect(),
            user: self.user.clone(),
            flag: keep.iter().filter_map(|&j| self.flag.get(j).copied()).collect(),
        }
    }
}

/// The width of a dense row for `signals` signals.
pub(crate) fn dense_width(signals: usize) -> usize {
    signals + CHEAP_FEATURES.len()
}

/// The shopper vector: the weight-averaged vectors of the items the shopper has a positive
/// weight on, scaled to unit length (`None` without vectors or without such items).
fn shopper_vector(profile: &UserProfile, vectors: &ItemVectors) -> Option<Vec<f32>> {
    let mut sum = vec![0.0f32; vectors.dim];
    let mut any = false;
    for &(item, w) in &profile.items {
        if w <= 0.0 || !vectors.has_text.get(item as usize).copied().unwrap_or(false) {
            continue;
        }
        if let Some(row) = vectors.row(item) {
            for (s, v) in sum.iter_mut().zip(row) {
                *s += w * v;
            }
            any = true;
        }
    }
    let norm = sum.iter().map(|v| v * v).sum::<f32>().sqrt();
    (any && norm > 0.0 && norm.is_finite()).then(|| sum.iter().map(|v| v / norm).collect())
}

/// Mean and spread of the log prices of the shopper's items (`None` without prices).
fn price_band(profile: &UserProfile, catalogue: &Catalogue) -> Option<(f32, f32)> {
    let logs: Vec<f32> = profile
        .items
        .iter()
        .filter(|(_, w)| *w > 0.0)
        .filter_map(|&(i, _)| catalogue.price(i))
        .filter(|p| *p > 0.0 && p.is_finite())
        .map(f32::ln)
        .collect();
    if logs.is_empty() {
        return None;
    }
    let mean = logs.iter().sum::<f32>() / logs.len() as f32;
    let var = logs.iter().map(|l| (l - mean) * (l - mean)).sum::<f32>() / logs.len() as f32;
    Some((mean, var.sqrt().max(0.25)))
}

/// The four cheap features of `item` for a shopper.
fn cheap(item: u32, input: &FeatureInput<'_>, band: Option<(f32, f32)>, history: usize) -> [f32; 4] {
    let inter = input.interactions;
    let popularity = inter.by_item.row(item as usize).0.len() as f32;
    let price = match (band, input.catalogue.price(item)) {
        (Some((mean, spread)), Some(p)) if p > 0.0 && p.is_finite() => {
            ((p.ln() - mean) / spread).clamp(-3.0, 3.0) / 3.0
        }
        _ => 0.0,
    };
    let born = input
        .catalogue
        .created_at
        .get(item as usize)
        .copied()
        .flatten()
        .or_else(|| inter.first_seen.get(item as usize).copied().flatten());
    let age = born.map_or(0.0, |t| ((inter.now - t) as f64 / DAY).max(0.0).ln_1p() as f32 / 10.0);
    [popularity.ln_1p() / 10.0, price, age, (history as f32).ln_1p() / 10.0]
}

/// The feature rows of every candidate of `set` for a shopper with `profile`, for a model
/// reading `signals` (a signal the set lacks reads 0) and `dim`-dimensional embeddings
/// (0 = none; vectors of another length are ignored).
pub fn shopper_rows(
    set: &CandidateSet,
    signals: &[SignalId],
    profile: &UserProfile,
    input: &FeatureInput<'_>,
    dim: usize,
) -> ShopperRows {
    let n = set.len();
    let width = dense_width(signals.len());
    let mut dense = vec![0.0f32; n * width];
    let mut column = vec![0.0f32; n];
    for (c, &signal) in signals.iter().enumerate() {
        let Some(s) = set.signal_index(signal) else { continue };
        normalise(set.raw_of(s), set.ranks_of(s), Normalisation::Minmax, &mut column);
        for (row, &v) in dense.chunks_exact_mut(width).zip(&column) {
            if let Some(slot) = row.get_mut(c) {
                *slot = if v.is_finite() { v } else { 0.0 };
            }
        }
    }
    let band = price_band(profile, input.catalogue);
    let history = profile.items.len();
    for (row, &item) in dense.chunks_exact_mut(width).zip(&set.items) {
        let features = cheap(item, input, band, history);
        if let Some(tail) = row.get_mut(signals.len()..) {
            tail.copy_from_slice(&features);
        }
    }
    let vectors = input.vectors.filter(|v| dim > 0 && v.dim == dim);
    let user = vectors.and_then(|v| shopper_vector(profile, v)).unwrap_or_default();
    let flag = set
        .items
        .iter()
        .map(|&i| {
            let has = vectors.is_some_and(|v| v.has_text.get(i as usize).copied().unwrap_or(false));
            if has && !user.is_empty() { 1.0 } else { 0.0 }
        })
        .collect();
    ShopperRows { n, dense, items: set.items.clone(), user, flag }
}

/// A fingerprint of the data a model was trained on: FNV-1a over the item ids and every
/// event's shopper, item, time and weight. Any change of the data changes it.
pub fn data_fingerprint(dataset: &Dataset) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut eat = |bytes: &[u8]| {
        for &b in bytes {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    };
    let cat = &dataset.catalogue;
    eat(&(cat.len() as u64).to_le_bytes());
    for i in 0..cat.len() as u32 {
        eat(cat.ids.name(i).as_bytes());
        eat(&[0]);
    }
    let b = &dataset.behaviour;
    eat(&(b.len() as u64).to_le_bytes());
    for e in 0..b.len() {
        let user = b.user.get(e).map_or("", |&u| b.users.name(u));
        eat(user.as_bytes());
        eat(&[0]);
        eat(&b.item.get(e).copied().unwrap_or(u32::MAX).to_le_bytes());
        eat(&b.time.get(e).copied().unwrap_or(0).to_le_bytes());
        eat(&b.weight.get(e).copied().unwrap_or(0.0).to_bits().to_le_bytes());
    }
    format!("{h:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selected_rows_keep_the_features_computed_over_every_row() {
        // Three candidates, one signal (min-max over all three: 0, 0.5, 1) and four cheap
        // features; keeping rows 1 and 2 keeps 0.5 and 1 (a min-max over the two alone
        // would give 0 and 1).
        let row = |s: f32, k: f32| [s, k, k + 1.0, k + 2.0, k + 3.0];
        let dense: Vec<f32> = [row(0.0, 10.0), row(0.5, 20.0), row(1.0, 30.0)].concat();
        let rows = ShopperRows { n: 3, dense, items: vec![7, 8, 9], user: vec![0.6, 0.8], flag: vec![1.0, 0.0, 1.0] };
        let kept = rows.select(&[1, 2]);
        assert_eq!(kept.n, 2);
        assert_eq!(kept.dense, [row(0.5, 20.0), row(1.0, 30.0)].concat());
        assert_eq!((kept.items, kept.flag, kept.user), (vec![8, 9], vec![0.0, 1.0], vec![0.6, 0.8]));
        assert_eq!(rows.select(&[]).n, 0);
    }
}
