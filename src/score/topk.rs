//! Selecting the best-scoring indices.

/// Indices of the `k` largest finite scores, best first; ties go to the lower index.
/// `skip` marks indices that must not be returned.
pub fn top_k_indices(scores: &[f32], k: usize, skip: impl Fn(usize) -> bool) -> Vec<u32> {
    if k == 0 {
        return Vec::new();
    }
    let mut candidates: Vec<u32> = (0..scores.len())
        .filter(|&i| !skip(i) && scores.get(i).is_some_and(|s| s.is_finite()))
        .map(|i| i as u32)
        .collect();
    let cmp = |a: &u32, b: &u32| {
        let sa = scores.get(*a as usize).copied().unwrap_or(f32::NEG_INFINITY);
        let sb = scores.get(*b as usize).copied().unwrap_or(f32::NEG_INFINITY);
        sb.total_cmp(&sa).then(a.cmp(b))
    };
    if candidates.len() > k {
        candidates.select_nth_unstable_by(k - 1, cmp);
        candidates.truncate(k);
    }
    candidates.sort_unstable_by(cmp);
    candidates
}

/// The `k` largest (index, value) pairs of a sparse list, best first; ties → lower index.
pub fn top_k_pairs(mut pairs: Vec<(u32, f32)>, k: usize) -> Vec<(u32, f32)> {
    let cmp = |a: &(u32, f32), b: &(u32, f32)| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0));
    if pairs.len() > k && k > 0 {
        pairs.select_nth_unstable_by(k - 1, cmp);
        pairs.truncate(k);
    }
    if k == 0 {
        pairs.clear();
    }
    pairs.sort_unstable_by(cmp);
    pairs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_best_with_ties_to_lower_index() {
        let s = [0.5, 0.9, 0.9, f32::NAN, 0.1];
        assert_eq!(top_k_indices(&s, 2, |_| false), vec![1, 2]);
        assert_eq!(top_k_indices(&s, 10, |i| i == 1), vec![2, 0, 4]);
        assert_eq!(top_k_pairs(vec![(3, 1.0), (1, 2.0), (2, 2.0)], 2), vec![(1, 2.0), (2, 2.0)]);
    }
}
