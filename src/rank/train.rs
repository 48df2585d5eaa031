//! Listwise training: softmax cross-entropy of each shopper's candidate list against its
//! label distribution (the gains of the held-out events), AdamW, early stopping on the
//! NDCG@10 of held-out validation shoppers, seeded.

use candle_core::{D, Device, Tensor};
use candle_nn::{AdamW, Optimizer, ParamsAdamW};

use super::RankerError;
use super::features::ShopperRows;
use super::model::{Inputs, Ranker};
use crate::embed::ItemVectors;
use crate::jobs::Progress;
use crate::score::SignalId;

/// Cut-off of the validation NDCG.
const VALIDATION_K: usize = 10;
/// Logit given to padding positions of a list.
const MASKED: f64 = -1e9;

/// One shopper's list: feature rows, the gain of each row, and the ideal DCG@10 of the
/// shopper's whole relevant set (relevant items outside the candidates count as missed).
#[derive(Debug, Clone)]
pub struct TrainList {
    /// The candidates' features.
    pub rows: ShopperRows,
    /// Gain of each row (0 = not relevant).
    pub gains: Vec<f32>,
    /// Ideal DCG@10 of the shopper's relevant set.
    pub ideal_dcg: f64,
}

/// Settings of a training run (checked by the caller with `crate::limits`).
#[derive(Debug, Clone, PartialEq)]
pub struct TrainSettings {
    /// Most epochs.
    pub epochs: usize,
    /// Hidden width.
    pub hidden: usize,
    /// AdamW learning rate.
    pub learning_rate: f64,
    /// AdamW weight decay.
    pub weight_decay: f64,
    /// Shoppers per step.
    pub batch_shoppers: usize,
    /// Epochs without a better validation NDCG before stopping.
    pub patience: usize,
    /// Seed of the initial weights and the shuffling.
    pub seed: u64,
    /// Initial weights of the wide part's signal features (in signal order), e.g. the
    /// tuned fusion's weights, so training starts from that ranking (and keeps it as epoch 0
    /// when no epoch beats it); empty = random.
    pub warm_start: Vec<f32>,
    /// Whether to read the embedding features (V_u, V_i, V_u ⊙ V_i) when there are vectors.
    pub embeddings: bool,
    /// Train a small grid of variants (hidden width, learning rate, with and without the
    /// embedding features) and keep the best on the early-stopping shoppers
    /// (`crate::eval::learned`); off: these settings only.
    pub search: bool,
}

impl Default for TrainSettings {
    fn default() -> Self {
        Self {
            epochs: 30,
            hidden: 32,
            learning_rate: 1e-2,
            weight_decay: 1e-4,
            batch_shoppers: 16,
            patience: 5,
            seed: 7,
            warm_start: Vec::new(),
            embeddings: true,
            search: false,
        }
    }
}

/// One epoch's numbers.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct EpochReport {
    /// Epoch, from 1.
    pub epoch: usize,
    /// Mean listwise loss over the training shoppers.
    pub loss: f32,
    /// Mean NDCG@10 of the held-out validation shoppers.
    pub validation_ndcg: f32,
}

/// What training did.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct TrainReport {
    /// Every epoch run.
    pub epochs: Vec<EpochReport>,
    /// The epoch whose weights were kept (best validation NDCG@10; 0: the warm start).
    pub best_epoch: usize,
    /// Training shoppers (lists with at least one relevant candidate).
    pub train_shoppers: usize,
    /// Held-out validation shoppers.
    pub validation_shoppers: usize,
}

/// The mean listwise softmax cross-entropy of `logits` (`[lists, len]`) against target
/// distributions `target` (each row sums to 1 over its real positions); `mask` is 1 on
/// real positions, 0 on padding.
pub fn listwise_loss(logits: &Tensor, target: &Tensor, mask: &Tensor) -> Result<Tensor, RankerError> {
    let masked = ((logits * mask)? + mask.affine(-MASKED, MASKED)?)?;
    let lse = masked.log_sum_exp(D::Minus1)?;
    let expected = (target * logits)?.sum(D::Minus1)?;
    Ok((lse - expected)?.mean_all()?)
}

/// Model inputs, padded logits layout and targets for a batch of lists.
fn batch_loss(model: &Ranker, lists: &[&TrainList], vectors: Option<&ItemVectors>) -> Result<Tensor, RankerError> {
    let len = lists.iter().map(|l| l.rows.n).max().unwrap_or(0).max(1);
    let mut x = Inputs::default();
    let dim = model.config().dim;
    let total: usize = lists.iter().map(|l| l.rows.n).sum();
    let mut index = vec![total as u32; lists.len() * len];
    let mut target = vec![0.0f32; lists.len() * len];
    let mut mask = vec![0.0f32; lists.len() * len];
    for (b, list) in lists.iter().enumerate() {
        let offset = x.rows;
        x.push(&list.rows, 0..list.rows.n, vectors, dim);
        let sum: f32 = list.gains.iter().sum();
        for j in 0..list.rows.n {
            let p = b * len + j;
            if let (Some(i), Some(t), Some(m)) = (index.get_mut(p), target.get_mut(p), mask.get_mut(p)) {
                *i = (offset + j) as u32;
                *t = if sum > 0.0 { list.gains.get(j).copied().unwrap_or(0.0) / sum } else { 0.0 };
                *m = 1.0;
            }
        }
    }
    let dev = Device::Cpu;
    let scores = model.forward(&x)?;
    let padded = Tensor::cat(&[&scores, &Tensor::zeros(1, scores.dtype(), &dev)?], 0)?;
    let logits =
        padded.index_select(&Tensor::from_vec(index, lists.len() * len, &dev)?, 0)?.reshape((lists.len(), len))?;
    let target = Tensor::from_vec(target, (lists.len(), len), &dev)?;
    let mask = Tensor::from_vec(mask, (lists.len(), len), &dev)?;
    listwise_loss(&logits, &target, &mask)
}

/// NDCG@10 of a list ordered by `scores` (ties: the earlier row first).
pub(crate) fn list_ndcg(scores: &[f32], list: &TrainList) -> f64 {
    if list.ideal_dcg <= 0.0 {
        return 0.0;
    }
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| {
        let (x, y) = (scores.get(a).copied().unwrap_or(0.0), scores.get(b).copied().unwrap_or(0.0));
        y.total_cmp(&x).then(a.cmp(&b))
    });
    let dcg: f64 = order
        .iter()
        .take(VALIDATION_K)
        .enumerate()
        .map(|(pos, &j)| f64::from(list.gains.get(j).copied().unwrap_or(0.0)) / ((pos + 2) as f64).log2())
        .sum();
    dcg / list.ideal_dcg
}

fn validate(model: &Ranker, lists: &[TrainList], vectors: Option<&ItemVectors>) -> Result<f32, RankerError> {
    if lists.is_empty() {
        return Ok(0.0);
    }
    let mut sum = 0.0;
    for list in lists {
        sum += list_ndcg(&model.score_rows(&list.rows, vectors)?, list);
    }
    Ok((sum / lists.len() as f64) as f32)
}

/// Trains a ranker over `signals` on `fit` lists, keeping the epoch with the best NDCG@10
/// on `holdout`; `on_epoch` hears about every epoch.
#[allow(clippy::too_many_arguments)]
pub fn train(
    signals: &[SignalId],
    fit: &[TrainList],
    holdout: &[TrainList],
    vectors: Option<&ItemVectors>,
    settings: &TrainSettings,
    fingerprint: String,
    progress: &Progress,
    on_epoch: &mut dyn FnMut(&EpochReport),
) -> Result<(Ranker, TrainReport), RankerError> {
    let learnable: Vec<&TrainList> = fit.iter().filter(|l| l.rows.n > 0 && l.gains.iter().any(|&g| g > 0.0)).collect();
    if learnable.is_empty() {
        return Err(RankerError::Invalid(
            "no training shopper has a relevant item among its candidates: nothing to learn from".into(),
        ));
    }
    let vectors = vectors.filter(|_| settings.embeddings);
    let dim = vectors.map_or(0, |v| v.dim);
    let model = Ranker::new(signals, dim, settings.hidden, fingerprint, settings.seed)?;
    if !settings.warm_start.is_empty() {
        model.warm_start(&settings.warm_start)?;
    }
    let adam =
        ParamsAdamW { lr: settings.learning_rate, weight_decay: settings.weight_decay, ..ParamsAdamW::default() };
    let mut optimizer = AdamW::new(model.all_vars(), adam)?;
    let mut rng = fastrand::Rng::with_seed(settings.seed.wrapping_add(1));
    let batch = settings.batch_shoppers.max(1);
    let epochs = settings.epochs.max(1);
    progress.start_stage("training ranker", (epochs * learnable.len().div_ceil(batch)) as u64);
    let mut report =
        TrainReport { train_shoppers: learnable.len(), validation_shoppers: holdout.len(), ..TrainReport::default() };
    let mut order: Vec<usize> = (0..learnable.len()).collect();
    let (mut best, mut stale): (Option<(f32, Vec<_>)>, usize) = (None, 0);
    if !settings.warm_start.is_empty() {
        // Epoch 0, the warm start itself (no step yet), is a candidate too: a training run
        // that never beats the starting ranking on the held-out shoppers keeps it.
        let mut total = 0.0f64;
        for chunk in learnable.chunks(batch) {
            progress.check()?;
            total += f64::from(batch_loss(&model, chunk, vectors)?.to_scalar::<f32>()?);
        }
        let loss = (total / learnable.len().div_ceil(batch).max(1) as f64) as f32;
        let r = EpochReport { epoch: 0, loss, validation_ndcg: validate(&model, holdout, vectors)? };
        on_epoch(&r);
        report.epochs.push(r);
        best = Some((r.validation_ndcg, model.snapshot()?));
    }
    for epoch in 1..=epochs {
        rng.shuffle(&mut order);
        let (mut total, mut batches) = (0.0f64, 0usize);
        for chunk in order.chunks(batch) {
            progress.check()?;
            let lists: Vec<&TrainList> = chunk.iter().filter_map(|&i| learnable.get(i).copied()).collect();
            let loss = batch_loss(&model, &lists, vectors)?;
            optimizer.backward_step(&loss)?;
            total += f64::from(loss.to_scalar::<f32>()?);
            batches += 1;
            progress.advance(1);
        }
        let ndcg = validate(&model, holdout, vectors)?;
        let r = EpochReport { epoch, loss: (total / batches.max(1) as f64) as f32, validation_ndcg: ndcg };
        on_epoch(&r);
        report.epochs.push(r);
        let best_ndcg = best.as_ref().map_or(f32::NEG_INFINITY, |(b, _)| *b);
        if ndcg > best_ndcg + 1e-6 {
            best = Some((ndcg, model.snapshot()?));
            report.best_epoch = epoch;
            stale = 0;
        } else {
            stale += 1;
            if stale >= settings.patience.max(1) {
                break;
            }
        }
    }
    if let Some((_, weights)) = &best {
        Ranker::restore(weights)?;
    }
    Ok((model, report))
}
