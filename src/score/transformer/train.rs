//! Training of the `transformer` network: next-item prediction over each shopper's
//! positive events (time order) — the full softmax over every item of the training data
//! (`loss.rs`) or a sampled softmax against negatives shared by a batch — AdamW, dropout,
//! early stopping on each shopper's held-out last item.

use candle_core::{DType, Device, Tensor};
use candle_nn::{AdamW, Optimizer, ParamsAdamW};

use super::loss::full_softmax_loss;
use super::model::{Dropout, ModelConfig, SeqModel};
use super::{TransformerError, sequence};
use crate::embed::ItemVectors;
use crate::jobs::Progress;
use crate::score::interactions::Interactions;
use crate::score::params::{SequenceLoss, TransformerParams};

/// Cut-off of the validation metrics.
const VALIDATION_K: usize = 10;
/// Validation shoppers per forward pass.
const VALIDATION_BATCH: usize = 256;

/// One epoch's numbers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EpochReport {
    /// Epoch number, from 1.
    pub epoch: usize,
    /// Mean training loss (the chosen objective) over the epoch's batches.
    pub loss: f32,
    /// Share of validation shoppers whose held-out item ranks in the top 10.
    pub hit_rate: f32,
    /// Mean NDCG@10 of the held-out items.
    pub ndcg: f32,
}

/// What training did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TrainReport {
    /// Every epoch run.
    pub epochs: Vec<EpochReport>,
    /// The epoch whose weights were kept (best validation NDCG@10, else the last).
    pub best_epoch: usize,
    /// Training sequences (windows of at most `max_len + 1` items).
    pub sequences: usize,
    /// Shoppers with a held-out validation item.
    pub validation_shoppers: usize,
}

/// One shopper's held-out validation item.
struct Case {
    /// The items before the held-out one (at most `max_len`).
    input: Vec<u32>,
    /// The held-out item.
    target: u32,
    /// Every other item of the shopper's events (any sign), ascending: left out of the
    /// ranking, as evaluation leaves out every item the shopper already had.
    seen: Vec<u32>,
}

/// Training windows and validation cases.
struct Data {
    windows: Vec<Vec<u32>>,
    validation: Vec<Case>,
    /// Items seen in training: where negatives are drawn from.
    candidates: Vec<u32>,
    /// The classes of the full softmax: every item with a training interaction (any
    /// event, as the peer's item table), ascending.
    classes: Vec<u32>,
}

/// Splits each shopper's sequence: the last item is held out for validation when at least
/// two remain for training and it is new to the shopper (as evaluation only counts items
/// the shopper did not have); the rest is cut into windows of `max_len + 1` items.
fn prepare(interactions: &Interactions, max_len: usize) -> Data {
    let mut data = Data { windows: Vec::new(), validation: Vec::new(), candidates: Vec::new(), classes: Vec::new() };
    for events in &interactions.history {
        data.classes.extend(events.iter().map(|e| e.item).filter(|&i| (i as usize) < interactions.n_items));
        let s = sequence(events, interactions.n_items);
        let (train, held) = match s.split_last() {
            Some((&last, rest)) if rest.len() >= 2 && !rest.contains(&last) => (rest, Some(last)),
            _ => (s.as_slice(), None),
        };
        if let Some(target) = held {
            let start = train.len().saturating_sub(max_len);
            let mut seen: Vec<u32> = events.iter().map(|e| e.item).filter(|&i| i != target).collect();
            seen.sort_unstable();
            seen.dedup();
            data.validation.push(Case { input: train.get(start..).unwrap_or(&[]).to_vec(), target, seen });
        }
        let mut end = train.len();
        while end >= 2 {
            let start = end.saturating_sub(max_len + 1);
            data.windows.push(train.get(start..end).unwrap_or(&[]).to_vec());
            if start == 0 {
                break;
            }
            end = start + 1;
        }
        data.candidates.extend_from_slice(train);
    }
    data.candidates.sort_unstable();
    data.candidates.dedup();
    data.classes.sort_unstable();
    data.classes.dedup();
    data
}

/// Text vectors as a `[n_items + 1, dim]` tensor (zero rows for the padding item and
/// items without text).
pub(super) fn text_tensor(vectors: &ItemVectors, n_items: usize) -> Result<Tensor, TransformerError> {
    let dim = vectors.dim;
    let mut data = vec![0.0f32; (n_items + 1) * dim];
    for (i, chunk) in data.chunks_exact_mut(dim.max(1)).take(n_items).enumerate() {
        if let Some(row) = vectors.row(i as u32) {
            chunk.copy_from_slice(row.get(..chunk.len()).unwrap_or(&[]));
        }
    }
    Ok(Tensor::from_vec(data, (n_items + 1, dim), &Device::Cpu)?)
}

/// Left-padded `[batch, max_len]` tensors of sequences: items (padding = `n_items`) and
/// the 0/1 mask of real positions.
pub(super) fn pad_batch(seqs: &[&[u32]], max_len: usize, pad: u32) -> Result<(Tensor, Tensor), TransformerError> {
    let mut items = vec![pad; seqs.len() * max_len];
    let mut valid = vec![0.0f32; seqs.len() * max_len];
    for (r, s) in seqs.iter().enumerate() {
        let s = s.get(s.len().saturating_sub(max_len)..).unwrap_or(&[]);
        let off = r * max_len + max_len - s.len();
        for (k, &item) in s.iter().enumerate() {
            if let (Some(slot), Some(v)) = (items.get_mut(off + k), valid.get_mut(off + k)) {
                *slot = item;
                *v = 1.0;
            }
        }
    }
    let dev = Device::Cpu;
    Ok((Tensor::from_vec(items, (seqs.len(), max_len), &dev)?, Tensor::from_vec(valid, (seqs.len(), max_len), &dev)?))
}

/// The classes of the full softmax.
struct Classes {
    /// The class items, `[classes]` u32.
    ids: Tensor,
    /// Each item's class index (`u32::MAX` for an item that is not a class).
    index: Vec<u32>,
}

impl Classes {
    fn new(items: &[u32], n_items: usize) -> Result<Self, TransformerError> {
        let mut index = vec![u32::MAX; n_items];
        for (k, &i) in items.iter().enumerate() {
            if let Some(slot) = index.get_mut(i as usize) {
                *slot = k as u32;
            }
        }
        Ok(Self { ids: Tensor::new(items, &Device::Cpu)?, index })
    }
}

/// What a batch's predictions are scored against.
enum Objective<'a> {
    /// The next item against these negatives (drawn for the batch).
    Sampled(Vec<u32>),
    /// The next item against every class.
    Full(&'a Classes),
}

/// The mean loss of one batch of windows (every position predicts the next item).
fn batch_loss(
    model: &SeqModel,
    windows: &[&[u32]],
    objective: &Objective<'_>,
    dropout: &mut Dropout,
) -> Result<Tensor, TransformerError> {
    let pad = model.config.n_items as u32;
    let inputs: Vec<&[u32]> = windows.iter().map(|w| w.get(..w.len().saturating_sub(1)).unwrap_or(&[])).collect();
    // Padded to the batch's longest window (batches group windows of similar lengths).
    let max_len = inputs.iter().map(|w| w.len()).max().unwrap_or(1).clamp(1, model.config.max_len);
    let (seq, valid) = pad_batch(&inputs, max_len, pad)?;
    let hidden = model.forward(&seq, &valid, Some(dropout))?.hidden;
    // Only real positions are scored (windows are left-padded to `max_len`; a window's
    // inputs never exceed `max_len`, so its targets are all of `w[1..]`, in order).
    let real: Vec<u32> = inputs
        .iter()
        .enumerate()
        .flat_map(|(r, w)| {
            let end = (r + 1) * max_len;
            (end - w.len().min(max_len)..end).map(|p| p as u32)
        })
        .collect();
    let targets: Vec<u32> = windows.iter().flat_map(|w| w.get(1..).unwrap_or(&[]).iter().copied()).collect();
    if real.is_empty() {
        return Ok(Tensor::zeros((), DType::F32, &Device::Cpu)?);
    }
    if real.len() != targets.len() {
        return Err(TransformerError::Invalid(format!(
            "{} predicted positions but {} next items in a batch",
            real.len(),
            targets.len()
        )));
    }
    let real = Tensor::new(real.as_slice(), &Device::Cpu)?;
    let hidden = hidden.reshape((windows.len() * max_len, model.config.dim))?.index_select(&real, 0)?;
    match objective {
        Objective::Full(classes) => {
            let t: Option<Vec<u32>> =
                targets.iter().map(|&i| classes.index.get(i as usize).copied().filter(|&c| c != u32::MAX)).collect();
            let t = t.ok_or_else(|| TransformerError::Invalid("a training target is not a softmax class".into()))?;
            full_softmax_loss(&hidden, &model.item_vectors(&classes.ids)?, t)
        }
        Objective::Sampled(negatives) => {
            let targets = Tensor::new(targets.as_slice(), &Device::Cpu)?;
            sampled_softmax_loss(model, &hidden, &targets, negatives)
        }
    }
}

/// Mean sampled-softmax loss of `hidden` (`[positions, dim]`) whose next items are
/// `targets`, against the target and the shared `negatives`.
fn sampled_softmax_loss(
    model: &SeqModel,
    hidden: &Tensor,
    targets: &Tensor,
    negatives: &[u32],
) -> Result<Tensor, TransformerError> {
    let positive = (hidden * model.item_vectors(targets)?)?.sum_keepdim(1)?;
    let negs = Tensor::new(negatives, &Device::Cpu)?;
    let neg_logits = hidden.matmul(&model.item_vectors(&negs)?.t()?)?;
    // A sampled negative that is the position's own target is not a negative.
    let same = targets.unsqueeze(1)?.broadcast_eq(&negs.unsqueeze(0)?)?.to_dtype(DType::F32)?;
    let neg_logits = (neg_logits - (same * 1e9)?)?;
    let logits = Tensor::cat(&[&positive, &neg_logits], 1)?;
    let nll = (logits.log_sum_exp(1)? - positive.squeeze(1)?)?;
    Ok(nll.mean_all()?)
}

/// One epoch's batches of window indices: a shuffled order, cut into groups of 16 batches
/// whose windows are sorted by length (so a batch pads little), the batches shuffled.
fn epoch_batches(windows: &[Vec<u32>], batch: usize, rng: &mut fastrand::Rng) -> Vec<Vec<usize>> {
    let mut order: Vec<usize> = (0..windows.len()).collect();
    rng.shuffle(&mut order);
    let len = |i: &usize| windows.get(*i).map_or(0, Vec::len);
    let mut out = Vec::new();
    for group in order.chunks_mut(batch * 16) {
        group.sort_by_key(len);
        out.extend(group.chunks(batch).map(<[usize]>::to_vec));
    }
    rng.shuffle(&mut out);
    out
}

/// `k` negatives drawn uniformly from `candidates`; every candidate (the full softmax over
/// the training items) when `k` is at least their number.
fn draw_negatives(candidates: &[u32], k: usize, rng: &mut fastrand::Rng) -> Vec<u32> {
    if k >= candidates.len() {
        return candidates.to_vec();
    }
    (0..k.max(1)).filter_map(|_| candidates.get(rng.usize(..candidates.len())).copied()).collect()
}

/// Hit rate and NDCG@10 of the held-out items, ranked against every catalogue item the
/// shopper did not have.
fn validate(model: &SeqModel, cases: &[Case], progress: &Progress) -> Result<(f32, f32), TransformerError> {
    if cases.is_empty() {
        return Ok((0.0, 0.0));
    }
    let table = model.item_table()?.t()?.contiguous()?;
    let (mut hits, mut ndcg) = (0.0f64, 0.0f64);
    for chunk in cases.chunks(VALIDATION_BATCH) {
        progress.check()?;
        let seqs: Vec<&[u32]> = chunk.iter().map(|c| c.input.as_slice()).collect();
        let (seq, valid) = pad_batch(&seqs, model.config.max_len, model.config.n_items as u32)?;
        let hidden = model.forward(&seq, &valid, None)?.hidden;
        let last = hidden.narrow(1, model.config.max_len - 1, 1)?.squeeze(1)?;
        let scores: Vec<Vec<f32>> = last.matmul(&table)?.to_vec2()?;
        for (row, case) in scores.iter().zip(chunk) {
            let Some(&t) = row.get(case.target as usize) else { continue };
            let rank = row
                .iter()
                .enumerate()
                .filter(|&(i, &s)| s > t && case.seen.binary_search(&(i as u32)).is_err())
                .count();
            if rank < VALIDATION_K {
                hits += 1.0;
                ndcg += 1.0 / ((rank + 2) as f64).log2();
            }
        }
    }
    let n = cases.len() as f64;
    Ok(((hits / n) as f32, (ndcg / n) as f32))
}

/// Trains a network on `interactions`; `on_epoch` hears about every epoch.
pub(super) fn train(
    interactions: &Interactions,
    vectors: Option<&ItemVectors>,
    params: &TransformerParams,
    progress: &Progress,
    on_epoch: &mut dyn FnMut(&EpochReport),
) -> Result<(SeqModel, TrainReport), TransformerError> {
    let max_len = params.max_len.max(1);
    let data = prepare(interactions, max_len);
    if data.windows.is_empty() {
        return Err(TransformerError::Invalid("no shopper has two or more positive events to learn from".into()));
    }
    let texts =
        vectors.filter(|v| v.dim > 0 && !v.is_empty()).map(|v| text_tensor(v, interactions.n_items)).transpose()?;
    let config = ModelConfig {
        n_items: interactions.n_items,
        text_dim: texts.as_ref().map_or(0, |_| vectors.map_or(0, |v| v.dim)),
        dim: params.dim,
        heads: params.heads,
        blocks: params.blocks,
        max_len,
    };
    let mut rng = fastrand::Rng::with_seed(params.seed);
    let model = SeqModel::new(config, texts, &mut rng)?;
    let adam = ParamsAdamW { lr: params.learning_rate, weight_decay: params.weight_decay, ..ParamsAdamW::default() };
    let mut optimizer = AdamW::new(model.all_vars(), adam)?;
    let mut dropout = Dropout { p: params.dropout.clamp(0.0, 0.9), rng: rng.fork() };
    let classes = match params.loss {
        SequenceLoss::FullSoftmax => Some(Classes::new(&data.classes, interactions.n_items)?),
        SequenceLoss::SampledSoftmax => None,
    };
    let batch = params.batch_size.max(1);
    let epochs = params.epochs.max(1);
    progress.start_stage("training transformer", (epochs * data.windows.len().div_ceil(batch)) as u64);
    let mut report = TrainReport {
        sequences: data.windows.len(),
        validation_shoppers: data.validation.len(),
        ..TrainReport::default()
    };
    let (mut best, mut stale): (Option<(f32, Vec<_>)>, usize) = (None, 0);
    for epoch in 1..=epochs {
        let (mut total, mut batches) = (0.0f64, 0usize);
        for chunk in epoch_batches(&data.windows, batch, &mut rng) {
            progress.check()?;
            let windows: Vec<&[u32]> = chunk.iter().filter_map(|&i| data.windows.get(i).map(Vec::as_slice)).collect();
            let objective = match &classes {
                Some(c) => Objective::Full(c),
                None => Objective::Sampled(draw_negatives(&data.candidates, params.negatives, &mut rng)),
            };
            let loss = batch_loss(&model, &windows, &objective, &mut dropout)?;
            // The backward pass is the longer half of a step: a cancel need not wait for it.
            progress.check()?;
            optimizer.backward_step(&loss)?;
            total += f64::from(loss.to_scalar::<f32>()?);
            batches += 1;
            progress.advance(1);
        }
        let (hit_rate, ndcg) = validate(&model, &data.validation, progress)?;
        let r = EpochReport { epoch, loss: (total / batches.max(1) as f64) as f32, hit_rate, ndcg };
        on_epoch(&r);
        report.epochs.push(r);
        // A tie keeps the later (longer trained) weights but does not reset the patience.
        let best_ndcg = best.as_ref().map_or(f32::NEG_INFINITY, |(b, _)| *b);
        if data.validation.is_empty() || ndcg >= best_ndcg - 1e-6 {
            best = Some((ndcg.max(best_ndcg), model.snapshot()?));
            report.best_epoch = epoch;
        }
        if ndcg > best_ndcg + 1e-6 {
            stale = 0;
        } else {
            stale += 1;
            if stale >= params.patience.max(1) {
                break;
            }
        }
    }
    if let Some((_, weights)) = &best {
        SeqModel::restore(weights)?;
    }
    Ok((model, report))
}
