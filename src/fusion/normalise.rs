//! Per-signal normalisation over a candidate set.

use super::config::Normalisation;

/// Competition ranks (1 = best; equal scores share the better rank).
pub fn competition_ranks(raw: &[f32]) -> Vec<u32> {
    let mut order: Vec<u32> = (0..raw.len() as u32).collect();
    let score = |j: u32| raw.get(j as usize).copied().unwrap_or(f32::NEG_INFINITY);
    order.sort_unstable_by(|&a, &b| score(b).total_cmp(&score(a)).then(a.cmp(&b)));
    let mut ranks = vec![0u32; raw.len()];
    let mut prev: Option<f32> = None;
    let mut current = 0u32;
    for (pos, &j) in order.iter().enumerate() {
        let s = score(j);
        if prev != Some(s) {
            current = pos as u32 + 1;
            prev = Some(s);
        }
        if let Some(r) = ranks.get_mut(j as usize) {
            *r = current;
        }
    }
    ranks
}

/// Normalises `raw` (one signal over the candidates); `ranks` are its competition ranks.
pub fn normalise(raw: &[f32], ranks: &[u32], kind: Normalisation, out: &mut [f32]) {
    let n = raw.len();
    match kind {
        Normalisation::None => out.iter_mut().zip(raw).for_each(|(o, r)| *o = *r),
        Normalisation::Minmax => {
            let (lo, hi) = raw.iter().fold((f32::INFINITY, f32::NEG_INFINITY), |(l, h), &v| (l.min(v), h.max(v)));
            let span = hi - lo;
            out.iter_mut().zip(raw).for_each(|(o, r)| *o = if span > 0.0 { (r - lo) / span } else { 0.0 });
        }
        Normalisation::Zscore => {
            let mean = raw.iter().map(|&v| f64::from(v)).sum::<f64>() / n.max(1) as f64;
            let var = raw.iter().map(|&v| (f64::from(v) - mean).powi(2)).sum::<f64>() / n.max(1) as f64;
            let sd = var.sqrt();
            out.iter_mut()
                .zip(raw)
                .for_each(|(o, &r)| *o = if sd > 0.0 { ((f64::from(r) - mean) / sd) as f32 } else { 0.0 });
        }
        Normalisation::Rank => {
            let denom = n.saturating_sub(1).max(1) as f32;
            out.iter_mut().zip(ranks).for_each(|(o, &r)| *o = if n > 1 { 1.0 - (r as f32 - 1.0) / denom } else { 1.0 });
        }
        Normalisation::Percentile => {
            // Count of ties per rank: items sharing a rank are exactly the ties.
            let mut tie_count = std::collections::HashMap::new();
            for &r in ranks {
                *tie_count.entry(r).or_insert(0u32) += 1;
            }
            out.iter_mut().zip(ranks).for_each(|(o, &r)| {
                let ties = tie_count.get(&r).copied().unwrap_or(1);
                let higher = r - 1;
                let lower = n as u32 - higher - ties;
                *o = (lower as f32 + 0.5 * ties as f32) / n.max(1) as f32;
            });
        }
    }
    out.iter_mut().for_each(|o| {
        if !o.is_finite() {
            *o = 0.0;
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_computed() {
        let raw = [2.0, 4.0, 4.0, 0.0];
        let ranks = competition_ranks(&raw);
        assert_eq!(ranks, vec![3, 1, 1, 4]);
        let mut out = [0.0; 4];
        normalise(&raw, &ranks, Normalisation::Minmax, &mut out);
        assert_eq!(out, [0.5, 1.0, 1.0, 0.0]);
        normalise(&raw, &ranks, Normalisation::Rank, &mut out);
        // 1 − (r−1)/3
        assert_eq!(out, [1.0 - 2.0 / 3.0, 1.0, 1.0, 0.0]);
        normalise(&raw, &ranks, Normalisation::Percentile, &mut out);
        // below + half ties, over 4: [1+0.5, 2+1, 2+1, 0+0.5]/4
        assert_eq!(out, [0.375, 0.75, 0.75, 0.125]);
        normalise(&raw, &ranks, Normalisation::Zscore, &mut out);
        // mean 2.5, population sd = sqrt((0.25+2.25+2.25+6.25)/4) = sqrt(2.75)
        let sd = 2.75f32.sqrt();
        for (o, r) in out.iter().zip(raw) {
            assert!((o - (r - 2.5) / sd).abs() < 1e-6);
        }
    }
}
