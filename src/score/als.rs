//! `als`: implicit-feedback matrix factorisation (Hu, Koren & Volinsky 2008) solved by
//! alternating least squares with a few conjugate-gradient steps per row (as in
//! Takács et al. 2011 and the `implicit` library).
//!
//! Confidence `c_ui = 1 + α·t(r_ui)` for observed pairs, 1 otherwise; preference 1 for
//! observed pairs, 0 otherwise; L2 regularisation λ.

use std::sync::Arc;

use super::als_kernels::{gram_matrix, sweep};
use super::interactions::{Interactions, SparseRows, UserProfile, ValueTransform};
use super::params::AlsParams;
use super::registry::{Fitted, SignalSpec};
use super::semantic::dot;
use super::topk::top_k_pairs;
use super::{ScoreContext, Scorer, SignalId, title_list};
use crate::data::Catalogue;
use crate::jobs::{Cancelled, Progress};

/// Fitted factors.
pub struct AlsScorer {
    /// Latent dimension.
    pub factors: usize,
    /// `n_users × factors`.
    pub user_factors: Vec<f32>,
    /// `n_items × factors`.
    pub item_factors: Vec<f32>,
    /// `YᵀY + λI` of the final item factors (for shoppers outside the training data).
    gram: Vec<f32>,
    /// λ and the conjugate-gradient steps of the fit (live updates solve with them).
    regularization: f32,
    cg_steps: usize,
    alpha: f32,
    transform: ValueTransform,
    /// The IVF index over the item factors (index path; built on first use).
    index: super::ivf::LazyIvf,
}

fn row_of(m: &[f32], r: usize, f: usize) -> &[f32] {
    m.get(r * f..(r + 1) * f).unwrap_or(&[])
}

/// Solves `A z = b` for a symmetric positive-definite `A` (`f × f`, row-major) by
/// Cholesky decomposition. `None` when `A` is not positive definite.
pub fn cholesky_solve(a: &[f32], b: &[f32]) -> Option<Vec<f32>> {
    cholesky_factor(a, b.len()).and_then(|l| l.solve(b))
}

/// The Cholesky factor `L` (`A = L Lᵀ`) of a symmetric positive-definite `f × f` matrix,
/// kept to solve several right-hand sides against one matrix.
pub struct Cholesky {
    f: usize,
    l: Vec<f64>,
}

/// Factors `A` (`f × f`, row-major). `None` when `A` is not positive definite.
pub fn cholesky_factor(a: &[f32], f: usize) -> Option<Cholesky> {
    if a.len() != f * f {
        return None;
    }
    let mut l = vec![0.0f64; f * f];
    for i in 0..f {
        for j in 0..=i {
            let mut s = f64::from(*a.get(i * f + j)?);
            for k in 0..j {
                s -= l.get(i * f + k)? * l.get(j * f + k)?;
            }
            if i == j {
                if s <= 0.0 {
                    return None;
                }
                *l.get_mut(i * f + i)? = s.sqrt();
            } else {
                let d = *l.get(j * f + j)?;
                *l.get_mut(i * f + j)? = s / d;
            }
        }
    }
    Some(Cholesky { f, l })
}

impl Cholesky {
    /// `z` with `A z = b` (`None` when `b` is not `f` long).
    pub fn solve(&self, b: &[f32]) -> Option<Vec<f32>> {
        let (f, l) = (self.f, &self.l);
        if b.len() != f {
            return None;
        }
        // L y = b
        let mut y = vec![0.0f64; f];
        for i in 0..f {
            let mut s = f64::from(*b.get(i)?);
            for k in 0..i {
                s -= l.get(i * f + k)? * y.get(k)?;
            }
            *y.get_mut(i)? = s / l.get(i * f + i)?;
        }
        // Lᵀ z = y
        let mut z = vec![0.0f64; f];
        for i in (0..f).rev() {
            let mut s = *y.get(i)?;
            for k in i + 1..f {
                s -= l.get(k * f + i)? * z.get(k)?;
            }
            *z.get_mut(i)? = s / l.get(i * f + i)?;
        }
        Some(z.into_iter().map(|v| v as f32).collect())
    }
}

impl AlsScorer {
    /// Trains the factors; reports one unit of progress per half-iteration.
    pub fn fit(data: &Interactions, params: &AlsParams, progress: &Progress) -> Result<Self, Cancelled> {
        let f = params.factors.max(1);
        let t = params.transform;
        let conf_user: Vec<f32> = data.by_user.val.iter().map(|&v| 1.0 + params.alpha * t.apply(v)).collect();
        let conf_item: Vec<f32> = data.by_item.val.iter().map(|&v| 1.0 + params.alpha * t.apply(v)).collect();
        let mut rng = fastrand::Rng::with_seed(params.seed);
        let mut user_factors: Vec<f32> = (0..data.n_users * f).map(|_| rng.f32() * 0.01).collect();
        let mut item_factors: Vec<f32> = (0..data.n_items * f).map(|_| rng.f32() * 0.01).collect();
        progress.start_stage(format!("ALS ({f} factors)"), 2 * params.iterations as u64);
        for _ in 0..params.iterations {
            progress.check()?;
            sweep(
                &mut user_factors,
                &item_factors,
                &data.by_user,
                &conf_user,
                f,
                params.regularization,
                params.cg_steps,
            );
            progress.advance(1);
            progress.check()?;
            sweep(
                &mut item_factors,
                &user_factors,
                &data.by_item,
                &conf_item,
                f,
                params.regularization,
                params.cg_steps,
            );
            progress.advance(1);
        }
        Ok(Self::from_factors(f, user_factors, item_factors, params))
    }

    /// A scorer from given factors (rows of `factors` values each), with the confidence
    /// weighting and regularisation of `params`: what a fit ends with.
    pub fn from_factors(factors: usize, user_factors: Vec<f32>, item_factors: Vec<f32>, params: &AlsParams) -> Self {
        let f = factors.max(1);
        let gram = gram_matrix(&item_factors, f, params.regularization);
        Self {
            factors: f,
            user_factors,
            item_factors,
            gram,
            regularization: params.regularization,
            cg_steps: params.cg_steps,
            alpha: params.alpha,
            transform: params.transform,
            index: Default::default(),
        }
    }

    /// Folds shoppers in against the fixed item factors: each shopper's vector becomes the
    /// exact solution of their regularised, confidence-weighted least squares
    /// `(YᵀY + λI + Σ (c−1) y yᵀ) x = Σ c y` (the system a fit's user sweep solves, here by
    /// Cholesky instead of a few CG steps). A shopper without positive interactions gets
    /// the zero vector, as in the fit. Items without trained factors contribute nothing.
    pub fn fold_in(&self, users: &[(u32, UserProfile)], n_users: usize) -> Self {
        let f = self.factors;
        let mut user_factors = self.user_factors.clone();
        user_factors.resize(n_users.max(self.user_factors.len() / f) * f, 0.0);
        for (u, profile) in users {
            let x = if profile.items.is_empty() {
                None
            } else {
                let (a, b) = self.system(profile);
                cholesky_solve(&a, &b)
            };
            let Some(row) = user_factors.get_mut(*u as usize * f..(*u as usize + 1) * f) else { continue };
            match x {
                Some(x) => row.copy_from_slice(&x),
                None => row.iter_mut().for_each(|v| *v = 0.0),
            }
        }
        Self {
            factors: f,
            user_factors,
            item_factors: self.item_factors.clone(),
            gram: self.gram.clone(),
            regularization: self.regularization,
            cg_steps: self.cg_steps,
            alpha: self.alpha,
            transform: self.transform,
            // The item factors are the same: so is their index.
            index: self.index.clone(),
        }
    }

    /// `sweeps` ALS iterations over every shopper (`by_user`) and item (`by_item`), warm-started from
    /// these factors (new shoppers and items start at zero): what a live batch costs is one
    /// iteration of the fit, and the factors keep converging toward a refit's.
    pub fn warm_sweeps(&self, by_user: &SparseRows, by_item: &SparseRows, sweeps: usize) -> Self {
        let f = self.factors;
        let (alpha, t) = (self.alpha, self.transform);
        let conf_user: Vec<f32> = by_user.val.iter().map(|&v| 1.0 + alpha * t.apply(v)).collect();
        let conf_item: Vec<f32> = by_item.val.iter().map(|&v| 1.0 + alpha * t.apply(v)).collect();
        let mut user_factors = self.user_factors.clone();
        user_factors.resize(by_user.rows().max(user_factors.len() / f) * f, 0.0);
        let mut item_factors = self.item_factors.clone();
        item_factors.resize(by_item.rows().max(item_factors.len() / f) * f, 0.0);
        let (lambda, steps) = (self.regularization, self.cg_steps);
        for _ in 0..sweeps {
            sweep(&mut user_factors, &item_factors, by_user, &conf_user, f, lambda, steps);
            sweep(&mut item_factors, &user_factors, by_item, &conf_item, f, lambda, steps);
        }
        let gram = gram_matrix(&item_factors, f, lambda);
        Self {
            factors: f,
            user_factors,
            item_factors,
            gram,
            regularization: lambda,
            cg_steps: steps,
            alpha,
            transform: t,
            // The item factors moved: the index is built again when used.
            index: Default::default(),
        }
    }

    fn system(&self, profile: &UserProfile) -> (Vec<f32>, Vec<f32>) {
        self.system_against(&self.item_factors, &self.gram, profile.items.iter().copied())
    }

    /// `G + Σ (c−1) y yᵀ` and `Σ c y` over `(row of other, value)` entries, `G` being
    /// `othersᵀothers + λI`.
    fn system_against(
        &self,
        others: &[f32],
        gram: &[f32],
        entries: impl Iterator<Item = (u32, f32)>,
    ) -> (Vec<f32>, Vec<f32>) {
        let (idx, conf): (Vec<u32>, Vec<f32>) =
            entries.map(|(i, r)| (i, 1.0 + self.alpha * self.transform.apply(r))).unzip();
        super::als_kernels::shopper_system(others, gram, self.factors, &idx, &conf)
    }

    /// The shopper's factor vector: the trained one, or an exact solve for shoppers
    /// outside the training data.
    pub fn user_vector(&self, profile: &UserProfile) -> Option<Vec<f32>> {
        if let Some(u) = profile.user {
            let row = row_of(&self.user_factors, u as usize, self.factors);
            if row.len() == self.factors && row.iter().any(|v| *v != 0.0) {
                return Some(row.to_vec());
            }
        }
        if profile.items.is_empty() {
            return None;
        }
        let (a, b) = self.system(profile);
        cholesky_solve(&a, &b)
    }

    fn item_index(&self) -> &super::ivf::IvfIndex {
        let (f, n) = (self.factors, self.item_factors.len() / self.factors);
        self.index.get(n, f, |i| Some(row_of(&self.item_factors, i as usize, f)))
    }

    /// Exact contribution of each history item to the score of `item`:
    /// `c_j · y_jᵀ A⁻¹ y_i` (they sum to the exactly solved score).
    pub fn contributions(&self, profile: &UserProfile, item: u32) -> Vec<(u32, f32)> {
        self.contributions_many(profile, &[item]).pop().unwrap_or_default()
    }

    /// [`Self::contributions`] for several items: the shopper's system is built and
    /// factored once.
    pub fn contributions_many(&self, profile: &UserProfile, items: &[u32]) -> Vec<Vec<(u32, f32)>> {
        let f = self.factors;
        let factor = if profile.items.is_empty() {
            None
        } else {
            let (a, _) = self.system(profile);
            cholesky_factor(&a, f)
        };
        items
            .iter()
            .map(|&item| {
                let yi = row_of(&self.item_factors, item as usize, f);
                let Some(z) = factor.as_ref().filter(|_| yi.len() == f).and_then(|l| l.solve(yi)) else {
                    return Vec::new();
                };
                let out = profile
                    .items
                    .iter()
                    .map(|&(j, r)| {
                        let c = 1.0 + self.alpha * self.transform.apply(r);
                        (j, c * dot(row_of(&self.item_factors, j as usize, f), &z))
                    })
                    .collect();
                top_k_pairs(out, usize::MAX)
            })
            .collect()
    }

    fn evidence_sentence(contributions: &[(u32, f32)], catalogue: &Catalogue) -> Option<String> {
        let top: Vec<u32> = contributions.iter().filter(|(_, c)| *c > 0.0).take(2).map(|&(j, _)| j).collect();
        (!top.is_empty()).then(|| format!("fits your taste for {} (latent factors)", title_list(catalogue, &top)))
    }
}

impl Scorer for AlsScorer {
    fn id(&self) -> SignalId {
        SignalId::ALS
    }

    fn score_all(&self, ctx: &ScoreContext<'_>, out: &mut [f32]) {
        out.iter_mut().for_each(|o| *o = 0.0);
        let Some(x) = self.user_vector(ctx.profile) else { return };
        for (o, y) in out.iter_mut().zip(self.item_factors.chunks_exact(self.factors)) {
            *o = dot(&x, y);
        }
    }

    fn score_all_block(&self, ctxs: &[ScoreContext<'_>], out: &mut [f32]) {
        out.iter_mut().for_each(|o| *o = 0.0);
        let n = out.len() / ctxs.len().max(1);
        let users: Vec<Option<Vec<f32>>> = ctxs.iter().map(|c| self.user_vector(c.profile)).collect();
        let given: Vec<Option<&[f32]>> = users.iter().map(Option::as_deref).collect();
        let f = self.factors;
        super::semantic::dot_rows_block(&given, n, |i| self.item_factors.get(i * f..(i + 1) * f), out);
    }

    fn scores_in_blocks(&self) -> bool {
        true
    }

    fn score_items(&self, ctx: &ScoreContext<'_>, items: &[u32], out: &mut [f32]) {
        let x = self.user_vector(ctx.profile);
        for (o, &i) in out.iter_mut().zip(items) {
            *o = x.as_ref().map_or(0.0, |x| dot(x, row_of(&self.item_factors, i as usize, self.factors)));
        }
    }

    /// Approximate: an IVF index over the item factors ([`super::ivf`]), exact when every
    /// list is probed.
    fn index_top(&self, ctx: &ScoreContext<'_>, query: &super::IndexQuery<'_>) -> Option<super::IndexTop> {
        let Some(x) = self.user_vector(ctx.profile) else {
            return Some(super::IndexTop { range: (0.0, 0.0), ..Default::default() });
        };
        let f = self.factors;
        let score = |i: u32| dot(&x, row_of(&self.item_factors, i as usize, f));
        Some(super::ivf::index_search(self.item_index(), &x, score, query))
    }

    fn build_index(&self) {
        self.item_index();
    }

    fn live_update(&self, change: &super::LiveChange<'_>) -> super::LiveUpdate {
        let users: Vec<(u32, UserProfile)> =
            change.delta.users.iter().map(|&u| (u, change.interactions.profile(u))).collect();
        // One iteration of the fit over every shopper and item, warm-started from the
        // current factors (so the factors keep converging toward a refit's), then the
        // shoppers with new events solved exactly against the new item factors.
        let next = self
            .warm_sweeps(&change.interactions.by_user, &change.interactions.by_item, 1)
            .fold_in(&users, change.interactions.n_users);
        super::LiveUpdate::Updated(
            Arc::new(next),
            format!(
                "one warm-started ALS iteration over every shopper and item, then {} shopper vectors solved \
                 exactly",
                users.len()
            ),
        )
    }

    fn evidence(&self, ctx: &ScoreContext<'_>, item: u32, catalogue: &Catalogue) -> Option<String> {
        Self::evidence_sentence(&self.contributions(ctx.profile, item), catalogue)
    }

    fn evidence_many(&self, ctx: &ScoreContext<'_>, items: &[u32], catalogue: &Catalogue) -> Vec<Option<String>> {
        self.contributions_many(ctx.profile, items).iter().map(|c| Self::evidence_sentence(c, catalogue)).collect()
    }
}

impl SignalId {
    /// The `als` signal.
    pub const ALS: SignalId = SignalId::new("als");
}

/// Registry entry of `als`.
pub(crate) const SPEC: SignalSpec = SignalSpec {
    id: SignalId::ALS,
    label: "ALS",
    color: [0x76, 0xb7, 0xb2],
    default_weight: 0.30,
    default_search_weight: 0.0,
    search_only: false,
    search_source: false,
    params_summary: |p| {
        let a = &p.als;
        format!(
            "{} factors, λ {}, α {}, {} iterations, CG {} steps, {:?}",
            a.factors, a.regularization, a.alpha, a.iterations, a.cg_steps, a.transform
        )
    },
    needs_vectors: false,
    fit: |input, params, progress| {
        Ok(Fitted::Ready(Arc::new(AlsScorer::fit(input.interactions, &params.als, progress)?)))
    },
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cholesky_solves_known_system() {
        // A = [[4, 2], [2, 3]], b = [2, 1]  →  z = [0.5, 0]  (4·0.5 + 2·0 = 2, 2·0.5 + 3·0 = 1)
        let z = cholesky_solve(&[4.0, 2.0, 2.0, 3.0], &[2.0, 1.0]).unwrap_or_default();
        assert!((z[0] - 0.5).abs() < 1e-6 && z[1].abs() < 1e-6, "{z:?}");
        assert!(cholesky_solve(&[0.0, 0.0, 0.0, 0.0], &[1.0, 1.0]).is_none());
    }
}
