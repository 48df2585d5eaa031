//! Train/test splits of the behaviour log. Validation splits apply the same rule once
//! more inside the training events.

use serde::{Deserialize, Serialize};

use crate::data::Behaviour;

/// How events are split.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SplitRule {
    /// Events at or after `tmin + (1 − test_fraction)·(tmax − tmin)` are test.
    Temporal {
        /// Fraction of the time span held out.
        test_fraction: f64,
    },
    /// Events at or after a fixed instant (unix seconds) are test.
    TemporalAt {
        /// The cut-off.
        cut: i64,
    },
    /// Each user's last `n` positive events are test (users with ≤ n stay in train).
    LeaveLast {
        /// Events per user.
        n: usize,
    },
    /// Each event is test with probability `test_fraction` (seeded).
    Random {
        /// Fraction held out.
        test_fraction: f64,
        /// Seed.
        seed: u64,
    },
}

impl SplitRule {
    /// Parses the CLI name (`temporal`, `leave-last`, `random`) with its parameters.
    pub fn from_name(name: &str, test_fraction: f64, n: usize, seed: u64) -> Option<Self> {
        match name {
            "temporal" => Some(SplitRule::Temporal { test_fraction }),
            "leave-last" | "leave_last" | "leave-last-n" => Some(SplitRule::LeaveLast { n: n.max(1) }),
            "random" => Some(SplitRule::Random { test_fraction, seed }),
            _ => None,
        }
    }

    /// Short name for reports.
    pub fn name(&self) -> &'static str {
        match self {
            SplitRule::Temporal { .. } | SplitRule::TemporalAt { .. } => "temporal",
            SplitRule::LeaveLast { .. } => "leave-last",
            SplitRule::Random { .. } => "random",
        }
    }
}

/// Event indices of each side of a split.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Split {
    /// Events used for fitting, ascending.
    pub train: Vec<usize>,
    /// Held-out events, ascending.
    pub test: Vec<usize>,
    /// The temporal cut-off, when the rule has one.
    pub cut: Option<i64>,
}

/// Splits the events listed in `events` (ascending indices into `behaviour`).
pub fn split_events(behaviour: &Behaviour, events: &[usize], rule: SplitRule) -> Split {
    let time = |e: usize| behaviour.time.get(e).copied().unwrap_or(0);
    match rule {
        SplitRule::Temporal { test_fraction } => {
            let (lo, hi) = events.iter().fold((i64::MAX, i64::MIN), |(l, h), &e| (l.min(time(e)), h.max(time(e))));
            if lo > hi {
                return Split::default();
            }
            let f = test_fraction.clamp(0.0, 1.0);
            let cut = lo + ((1.0 - f) * (hi - lo) as f64) as i64;
            cut_at(events, cut, time)
        }
        SplitRule::TemporalAt { cut } => cut_at(events, cut, time),
        SplitRule::LeaveLast { n } => {
            let mut per_user: std::collections::HashMap<u32, Vec<usize>> = std::collections::HashMap::new();
            for &e in events {
                if behaviour.weight.get(e).is_some_and(|&w| w > 0.0)
                    && let Some(&u) = behaviour.user.get(e)
                {
                    per_user.entry(u).or_default().push(e);
                }
            }
            let mut test = std::collections::HashSet::new();
            for list in per_user.values() {
                if list.len() > n {
                    // Events are in time order: the last n are the latest.
                    test.extend(list.iter().rev().take(n).copied());
                }
            }
            let (test_v, train): (Vec<usize>, Vec<usize>) = events.iter().partition(|e| test.contains(e));
            Split { train, test: test_v, cut: None }
        }
        SplitRule::Random { test_fraction, seed } => {
            let mut rng = fastrand::Rng::with_seed(seed);
            let (test, train): (Vec<usize>, Vec<usize>) = events.iter().partition(|_| rng.f64() < test_fraction);
            Split { train, test, cut: None }
        }
    }
}

fn cut_at(events: &[usize], cut: i64, time: impl Fn(usize) -> i64) -> Split {
    let (test, train): (Vec<usize>, Vec<usize>) = events.iter().partition(|&&e| time(e) >= cut);
    Split { train, test, cut: Some(cut) }
}

/// Train / validation / test: the rule applied to all events, then again to train.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ThreeWaySplit {
    /// Train minus validation: what tuning fits on.
    pub inner_train: Vec<usize>,
    /// Validation: what tuning scores on.
    pub validation: Vec<usize>,
    /// Train (inner train + validation): what the final model fits on.
    pub train: Vec<usize>,
    /// Test: what final metrics are reported on.
    pub test: Vec<usize>,
    /// Cut-offs (temporal rules).
    pub cuts: (Option<i64>, Option<i64>),
}

/// The rule that cuts validation out of train (and each earlier window out of the one after it).
fn inner_rule(rule: SplitRule, window: u64) -> SplitRule {
    match rule {
        SplitRule::Random { test_fraction, seed } => {
            SplitRule::Random { test_fraction, seed: seed.wrapping_add(1).wrapping_add(window) }
        }
        SplitRule::TemporalAt { .. } => SplitRule::Temporal { test_fraction: 0.1 },
        other => other,
    }
}

/// Applies `rule` twice: test from all events, validation from train.
pub fn three_way(behaviour: &Behaviour, rule: SplitRule) -> ThreeWaySplit {
    let all: Vec<usize> = (0..behaviour.len()).collect();
    let outer = split_events(behaviour, &all, rule);
    let inner = split_events(behaviour, &outer.train, inner_rule(rule, 0));
    ThreeWaySplit {
        inner_train: inner.train,
        validation: inner.test,
        train: outer.train,
        test: outer.test,
        cuts: (inner.cut, outer.cut),
    }
}

/// One validation window of tuning: fit on `fit`, score on `validation`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ValidationWindow {
    /// The events the signals are fitted on.
    pub fit: Vec<usize>,
    /// The events the fitted signals are scored against.
    pub validation: Vec<usize>,
}

/// `count` successive validation windows (rolling origin), latest first. The first is
/// [`three_way`]'s (train minus validation, validation); each next one cuts its validation
/// out of the previous window's fitting events by the same inner rule (temporal: the last
/// 10 % of their span; leave-last: each shopper's previous items; random: another draw),
/// so no window scores on events that a later one fits on. Stops early when a window
/// would have no events left to fit or to score.
pub fn validation_windows(behaviour: &Behaviour, rule: SplitRule, count: usize) -> Vec<ValidationWindow> {
    let split = three_way(behaviour, rule);
    let first = ValidationWindow { fit: split.inner_train, validation: split.validation };
    let earlier = earlier_windows(behaviour, rule, &first.fit, count.saturating_sub(1));
    std::iter::once(first).chain(earlier).collect()
}

/// Up to `count` validation windows before the one [`three_way`] cuts (whose fitting
/// events are `latest_fit`), latest first, as [`validation_windows`] cuts them.
pub fn earlier_windows(
    behaviour: &Behaviour,
    rule: SplitRule,
    latest_fit: &[usize],
    count: usize,
) -> Vec<ValidationWindow> {
    let mut windows: Vec<ValidationWindow> = Vec::new();
    for w in 1..=count {
        let fit = windows.last().map_or(latest_fit, |last| &last.fit);
        let next = split_events(behaviour, fit, inner_rule(rule, w as u64));
        if next.train.is_empty() || next.test.is_empty() {
            break;
        }
        windows.push(ValidationWindow { fit: next.train, validation: next.test });
    }
    windows
}
