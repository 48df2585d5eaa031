//! The `transformer` signal on tiny hand-made fixtures (CPU): causal masking, learning a
//! planted cycle, text-initialised item vectors, save/load and reproducibility.

use recfuse::embed::ItemVectors;
use recfuse::jobs::Progress;
use recfuse::score::interactions::EventKind;
use recfuse::score::params::{SequenceLoss, TransformerParams};
use recfuse::score::transformer::{OFF_BY_DEFAULT, TransformerScorer};
use recfuse::score::{HistoryEvent, Interactions, ScoreContext, Scorer, SignalParams, UserProfile};

/// Items of the planted cycle A→B→…→H→A.
const CYCLE: u32 = 8;

fn events(items: &[u32]) -> Vec<HistoryEvent> {
    items
        .iter()
        .enumerate()
        .map(|(t, &item)| HistoryEvent {
            item,
            time: t as i64 * 60,
            weight: 1.0,
            kind: EventKind::Purchase,
            rating: None,
        })
        .collect()
}

/// 72 shoppers walking the cycle from every start, with 3 to 11 steps each; `n_items`
/// may exceed the cycle (extra items are never interacted with).
fn cycle_data(n_items: usize) -> Interactions {
    let mut history = Vec::new();
    for u in 0..72u32 {
        let (start, len) = (u % CYCLE, 3 + (u / CYCLE) % 9);
        let items: Vec<u32> = (0..len).map(|k| (start + k) % CYCLE).collect();
        history.push(events(&items));
    }
    Interactions { n_users: history.len(), n_items, history, ..Interactions::default() }
}

fn tiny(epochs: usize) -> TransformerParams {
    TransformerParams {
        enabled: true,
        max_len: 12,
        dim: 16,
        blocks: 2,
        heads: 2,
        dropout: 0.0,
        epochs,
        patience: 100,
        batch_size: 16,
        loss: SequenceLoss::SampledSoftmax,
        negatives: 8,
        learning_rate: 0.01,
        weight_decay: 0.0,
        seed: 7,
        id_shrinkage: 0.0,
    }
}

fn fit(data: &Interactions, vectors: Option<&ItemVectors>, params: &TransformerParams) -> TransformerScorer {
    TransformerScorer::fit(data, vectors, params, &Progress::new(), &mut |_| {}).expect("training succeeds").0
}

fn scores(s: &TransformerScorer, history: &[u32], n: usize) -> Vec<f32> {
    let profile = UserProfile { user: None, items: Vec::new(), events: events(history), now: 0 };
    let mut out = vec![f32::NAN; n];
    s.score_all(&ScoreContext { profile: &profile, query: None }, &mut out);
    out
}

/// Items by descending score.
fn ranking(scores: &[f32]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    order
}

/// One-hot text vectors: item `i` gets axis `axes[i]`.
fn one_hot(axes: &[usize], dim: usize) -> ItemVectors {
    let mut data = vec![0.0; axes.len() * dim];
    for (i, &a) in axes.iter().enumerate() {
        data[i * dim + a] = 1.0;
    }
    ItemVectors { dim, data, has_text: vec![true; axes.len()] }
}

#[test]
fn off_by_default() {
    assert!(!SignalParams::default().transformer.enabled);
    assert!(OFF_BY_DEFAULT.contains("--weights transformer=") && OFF_BY_DEFAULT.contains("train-sequence"));
}

#[test]
fn a_later_item_does_not_change_earlier_positions() {
    let s = fit(&cycle_data(CYCLE as usize), None, &tiny(1));
    let before = s.hidden_states(&[0, 1, 2, 3]).expect("forward");
    let after = s.hidden_states(&[0, 1, 2, 6]).expect("forward");
    assert_eq!(before.len(), 4);
    for t in 0..3 {
        for (a, b) in before[t].iter().zip(&after[t]) {
            assert!((a - b).abs() < 1e-5, "position {t} changed: {a} vs {b}");
        }
    }
    // The altered position itself does change (the comparison can see a difference).
    let diff: f32 = before[3].iter().zip(&after[3]).map(|(a, b)| (a - b).abs()).sum();
    assert!(diff > 1e-3, "position 3 should differ, differs by {diff}");
}

/// After A, B the cycle continues with C; after G, H it wraps to A; after D, E, F comes G —
/// each first, by a margin of more than 1 in score.
fn assert_learned_the_cycle(s: &TransformerScorer) {
    for (history, next) in [(vec![0, 1], 2usize), (vec![6, 7], 0), (vec![3, 4, 5], 6)] {
        let sc = scores(s, &history, CYCLE as usize);
        let order = ranking(&sc);
        assert_eq!(order[0], next, "after {history:?}: scores {sc:?}");
        let margin = sc[next] - sc[order[1]];
        assert!(margin > 1.0, "after {history:?} the next item leads by only {margin}: {sc:?}");
    }
}

#[test]
fn learns_a_planted_cycle() {
    assert_learned_the_cycle(&fit(&cycle_data(CYCLE as usize), None, &tiny(40)));
}

#[test]
fn learns_a_planted_cycle_with_the_full_softmax() {
    let params = TransformerParams { loss: SequenceLoss::FullSoftmax, ..tiny(40) };
    let s = fit(&cycle_data(CYCLE as usize), None, &params);
    assert_learned_the_cycle(&s);
    // Near-certainty: the softmax over the 8 items puts more than 0.9 on the next item.
    for (history, next) in [(vec![0, 1], 2usize), (vec![6, 7], 0)] {
        let sc = scores(&s, &history, CYCLE as usize);
        let max = sc.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let total: f32 = sc.iter().map(|&x| (x - max).exp()).sum();
        let p = (sc[next] - max).exp() / total;
        assert!(p > 0.9, "after {history:?}: softmax probability {p} of the next item ({sc:?})");
    }
    // Reproducible: the same seed gives the same scores.
    let again = fit(&cycle_data(CYCLE as usize), None, &params);
    assert_eq!(scores(&s, &[0, 1, 2], CYCLE as usize), scores(&again, &[0, 1, 2], CYCLE as usize));
}

#[test]
fn an_unseen_item_with_a_twins_text_scores_like_its_twin() {
    // Item 8 never occurs; its text equals that of C (item 2). C's input vector is its id
    // embedding plus the projection of that text; both parts get the same gradient at every
    // step (one-hot texts: only C uses this text), and item 8 is never a negative (negatives
    // come from trained items). So item 8's vector is C's text part, which learned what
    // follows A, B as much as C's id part did: item 8 ranks right after C, above the rest.
    // The same holds for the full softmax: its classes are the items with a training
    // interaction, which item 8 is not.
    let n = CYCLE as usize + 1;
    let vectors = one_hot(&[0, 1, 2, 3, 4, 5, 6, 7, 2], 16);
    for loss in [SequenceLoss::SampledSoftmax, SequenceLoss::FullSoftmax] {
        let s = fit(&cycle_data(n), Some(&vectors), &TransformerParams { loss, ..tiny(40) });
        let sc = scores(&s, &[0, 1], n);
        let order = ranking(&sc);
        assert_eq!(&order[..2], &[2, 8], "{loss:?}: C, then its text twin: {sc:?}");
    }
}

#[test]
fn save_and_load_give_identical_scores() {
    let n = CYCLE as usize + 1;
    let vectors = one_hot(&[0, 1, 2, 3, 4, 5, 6, 7, 2], 16);
    let s = fit(&cycle_data(n), Some(&vectors), &tiny(3));
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("model.safetensors");
    s.save(&path).expect("saved");
    let loaded = TransformerScorer::load(&path, Some(&vectors)).expect("loaded");
    assert_eq!(loaded.config(), s.config());
    for history in [vec![0, 1], vec![5, 6, 7, 0]] {
        assert_eq!(scores(&s, &history, n), scores(&loaded, &history, n));
    }
    // Only the model file is left in the directory (the temporary file was renamed).
    assert_eq!(std::fs::read_dir(dir.path()).expect("listing").count(), 1);
    // A model that reads text cannot be loaded without the text vectors.
    assert!(TransformerScorer::load(&path, None).is_err());
}

#[test]
fn the_same_seed_gives_the_same_scores() {
    let data = cycle_data(CYCLE as usize);
    let a = scores(&fit(&data, None, &tiny(2)), &[0, 1, 2], CYCLE as usize);
    let b = scores(&fit(&data, None, &tiny(2)), &[0, 1, 2], CYCLE as usize);
    assert_eq!(a, b);
    let other = TransformerParams { seed: 8, ..tiny(2) };
    assert_ne!(a, scores(&fit(&data, None, &other), &[0, 1, 2], CYCLE as usize));
}

#[test]
fn cold_shoppers_get_zeros_and_cancelled_training_stops() {
    let data = cycle_data(CYCLE as usize);
    let s = fit(&data, None, &tiny(1));
    assert_eq!(scores(&s, &[], CYCLE as usize), vec![0.0; CYCLE as usize]);
    let progress = Progress::new();
    progress.cancel();
    let result = TransformerScorer::fit(&data, None, &tiny(1), &progress, &mut |_| {});
    assert!(matches!(result, Err(recfuse::score::transformer::TransformerError::Cancelled)));
}

#[test]
fn the_data_fingerprint_is_saved_and_a_model_of_other_data_is_refused() {
    let data = cycle_data(CYCLE as usize);
    let s = fit(&data, None, &tiny(1)).with_fingerprint("00000000000000aa");
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("model.safetensors");
    s.save(&path).expect("saved");
    let loaded = TransformerScorer::load(&path, None).expect("loaded");
    assert_eq!(loaded.fingerprint(), "00000000000000aa");
    assert!(loaded.check_data("00000000000000aa").is_ok());
    let err = loaded.check_data("00000000000000bb").expect_err("other data").to_string();
    assert!(err.contains("trained on other data"), "{err}");
    assert!(err.contains("00000000000000aa") && err.contains("00000000000000bb"), "{err}");
    // A model saved without a fingerprint fits no data.
    fit(&data, None, &tiny(1)).save(&path).expect("saved");
    let unknown = TransformerScorer::load(&path, None).expect("loaded");
    assert_eq!(unknown.fingerprint(), "");
    assert!(unknown.check_data("00000000000000aa").expect_err("unknown").to_string().contains("unknown data"));
    // Not a model file: an error naming the file, no panic.
    std::fs::write(&path, b"not safetensors").expect("written");
    let err = TransformerScorer::load(&path, None).err().expect("refused").to_string();
    assert!(err.contains("model.safetensors"), "{err}");
}

/// `id_shrinkage = k` scales item `i`'s id embedding by `c / (c + k)` (`c` = its shoppers)
/// and keeps its text projection: the score `h·(s·id + text)` is linear in `s`, so for an
/// item with `c` shoppers `(score₀ − score₃) / (score₀ − score₉) = (1 − c/(c+3)) / (1 −
/// c/(c+9)) = (c + 9) / (3 (c + 3))`; an item no shopper has (`c = 0`) is scored from its
/// text alone whatever `k` (> 0).
#[test]
fn id_shrinkage_scales_each_items_id_embedding_by_its_shoppers() {
    let n = CYCLE as usize + 2;
    let vectors = one_hot(&[0, 1, 2, 3, 4, 5, 6, 7, 2, 9], 16);
    let mut data = cycle_data(n);
    // Every walk's items, once per shopper (the cycle's shoppers of each item, by hand from
    // `cycle_data`: walks of 3 to 11 steps from every start).
    let mut triples = Vec::new();
    for (u, h) in data.history.iter().enumerate() {
        let mut items: Vec<u32> = h.iter().map(|e| e.item).collect();
        items.sort_unstable();
        items.dedup();
        triples.extend(items.into_iter().map(|i| (i, u as u32, 1.0)));
    }
    data.by_item = recfuse::score::SparseRows::from_triples(n, triples);
    let shoppers = |i: usize| data.history.iter().filter(|h| h.iter().any(|e| e.item as usize == i)).count() as f64;
    let trained = || fit(&data, Some(&vectors), &tiny(10));
    let plain = scores(&trained(), &[0, 1], n);
    let by_k = |k: f32| scores(&trained().with_id_shrinkage(&data, k).expect("shrink"), &[0, 1], n);
    let (three, nine) = (by_k(3.0), by_k(9.0));
    assert_eq!(scores(&trained().with_id_shrinkage(&data, 0.0).expect("no shrink"), &[0, 1], n), plain);
    let mut compared = 0;
    for i in 0..CYCLE as usize {
        let c = shoppers(i);
        assert!(c > 0.0, "item {i} has shoppers");
        let (d3, d9) = (f64::from(plain[i] - three[i]), f64::from(plain[i] - nine[i]));
        if d9.abs() > 1e-2 {
            let expected = (c + 9.0) / (3.0 * (c + 3.0));
            assert!(
                (d3 / d9 - expected).abs() < 2e-3 * expected.max(1.0),
                "item {i} (c = {c}): {} vs {expected}",
                d3 / d9
            );
            compared += 1;
        }
    }
    assert!(compared >= 4, "only {compared} items moved enough to compare");
    for i in [CYCLE as usize, CYCLE as usize + 1] {
        assert_eq!(shoppers(i), 0.0);
        assert!((three[i] - nine[i]).abs() < 1e-5, "item {i} (no shopper): {} vs {}", three[i], nine[i]);
        assert!((plain[i] - three[i]).abs() > 1e-4, "item {i}: its id embedding took part before");
    }
}

/// An item added after training (live: a new catalogue row, then embedded) is scored from
/// its text: its vector is the projection of its text alone. Item 8 arrives with C's text
/// (item 2); C's text part learned what follows A, B as much as C's id part did (one-hot
/// texts, the same gradient), so after A, B item 8 ranks right after C. Before the
/// extension the model has no row for it (score 0); nothing to add gives `None`.
#[test]
fn an_item_added_after_training_is_scored_from_its_text() {
    let trained_on = one_hot(&[0, 1, 2, 3, 4, 5, 6, 7], 16);
    let s = fit(&cycle_data(CYCLE as usize), Some(&trained_on), &tiny(40));
    let n = CYCLE as usize + 1;
    assert_eq!(scores(&s, &[0, 1], n)[8], 0.0, "no row for the new item yet");
    assert!(s.extended_to(&trained_on).expect("extend").is_none(), "no new item");
    assert!(s.extended_to(&one_hot(&[0, 1, 2, 3, 4, 5, 6, 7, 2], 8)).expect("extend").is_none(), "other width");
    let grown = s.extended_to(&one_hot(&[0, 1, 2, 3, 4, 5, 6, 7, 2], 16)).expect("extend").expect("one new item");
    let sc = scores(&grown, &[0, 1], n);
    assert_eq!(&ranking(&sc)[..2], &[2, 8], "C, then the new item with C's text: {sc:?}");
    // The trained items' scores are unchanged.
    assert_eq!(&sc[..8], &scores(&s, &[0, 1], 8)[..]);
    // Through the trait, as `Engine::attach_vectors` calls it.
    let via_trait = s.with_new_item_vectors(&one_hot(&[0, 1, 2, 3, 4, 5, 6, 7, 2], 16)).expect("extended");
    let mut out = vec![f32::NAN; n];
    let profile = UserProfile { user: None, items: Vec::new(), events: events(&[0, 1]), now: 0 };
    via_trait.score_all(&ScoreContext { profile: &profile, query: None }, &mut out);
    assert_eq!(out, sc);
}
