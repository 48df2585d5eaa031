//! Fusion settings and merchandising rules: each change re-ranks or re-scores A and B,
//! as [`change_impact`] decides.

use super::{NoticeLevel, Workbench};
use crate::fusion::FusionConfig;
use crate::session::command::{Command, Preset};
use crate::session::impact::{Impact, change_impact};
use crate::session::{Mode, default_search_fusion};

impl Workbench {
    /// Signal switches, weights, normalisations, method and presets.
    pub(super) fn handle_fusion(&mut self, command: Command) {
        match command {
            Command::SetSignalEnabled(s, on) => self.update_fusion(|f| f.signals.entry(s).or_default().enabled = on),
            Command::SetWeight(s, w) => {
                let was = self.session.active_fusion().weight(s);
                self.update_fusion(|f| f.set_weight(s, w));
                // Moving the (untrained) transformer's weight above 0 asks for it.
                if self.is_trainable(s) && was <= 0.0 && w > 0.0 {
                    self.request_training();
                }
            }
            Command::SetNormalisation(s, n) => {
                self.update_fusion(|f| f.signals.entry(s).or_default().normalisation = n)
            }
            Command::SetMethod(m) => self.update_fusion(|f| f.method = m),
            Command::SetRrfK(k) => self.update_fusion(|f| f.rrf_k = k),
            Command::SetCandidates(n) => self.update_fusion(|f| f.candidates_per_signal = n.max(1)),
            Command::SetCandidateSource(source) => self.update_fusion(|f| f.candidate_source = source),
            Command::SetExcludeSeen(on) => self.update_fusion(|f| f.exclude_seen = on),
            Command::SetMmrLambda(l) => self.update_fusion(|f| f.mmr_lambda = l.clamp(0.0, 1.0)),
            Command::SetCategoryCap(c) => self.update_fusion(|f| f.category_cap = c),
            Command::SetCollapseDuplicates(on) => self.update_fusion(|f| f.collapse_duplicates = on),
            Command::ApplyPreset(p) => {
                let config = match p {
                    Preset::Default => match self.session.selection.mode {
                        Mode::Recommend => FusionConfig::default(),
                        Mode::Search => default_search_fusion(),
                    },
                    Preset::Tuned => match self.evaluation.tuned().cloned() {
                        Some(t) => {
                            self.warn_if_tuned_elsewhere();
                            self.apply_tuned_params();
                            t
                        }
                        None => {
                            self.notify(NoticeLevel::Info, "no tuned weights yet: run Tune in the Evaluate tab");
                            return;
                        }
                    },
                };
                // External signals keep taking part, at their starting weight.
                let external = self.data.engine().map(|e| e.external_ids()).unwrap_or_default();
                let mode = self.session.selection.mode;
                self.update_fusion(|f| {
                    *f = config;
                    if mode == Mode::Recommend {
                        f.add_external_defaults(&external);
                    }
                });
            }
            _ => {}
        }
    }

    /// Takes the signal parameters tuning kept (ALS λ and α, the item-CF and user-CF
    /// neighbourhood sizes) into the session with the tuned weights, and refits the signals
    /// in the background when they change (the list keeps the old fit until then).
    fn apply_tuned_params(&mut self) {
        let Some(tuned) = self.evaluation.tune_summary().and_then(|t| t.params.clone()) else { return };
        let p = &mut self.session.params;
        let before = p.clone();
        p.als.regularization = tuned.als.regularization;
        p.als.alpha = tuned.als.alpha;
        p.item_cf.neighbours = tuned.item_cf.neighbours;
        p.user_cf.neighbours = tuned.user_cf.neighbours;
        if *p == before {
            return;
        }
        let text = format!(
            "tuned signal parameters applied (ALS λ {}, α {}; item-CF {} and user-CF {} neighbours): refitting the signals",
            p.als.regularization, p.als.alpha, p.item_cf.neighbours, p.user_cf.neighbours
        );
        self.notify(NoticeLevel::Info, text);
        if let Some(dataset) = self.data.dataset().cloned() {
            self.start_fit(dataset);
        }
    }

    /// Warns when the tuned weights were tuned on data other than the loaded data.
    fn warn_if_tuned_elsewhere(&mut self) {
        let here = self.data.loaded_from().map(super::evaluation::data_label);
        let Some(on) = self.evaluation.tuned_on().filter(|on| Some(*on) != here.as_deref()) else { return };
        let text = format!(
            "these weights were tuned on {on}, not on the loaded {}: tune again for this data",
            here.unwrap_or_else(|| "data".to_owned())
        );
        self.notify(NoticeLevel::Warning, text);
    }

    /// Adding, removing and switching rules (pin rules add candidates: re-scores).
    pub(super) fn handle_rules(&mut self, command: Command) {
        let changed = match command {
            Command::AddRule(rule) => {
                self.session.rules.push(rule);
                true
            }
            Command::RemoveRule(i) => {
                let known = i < self.session.rules.len();
                if known {
                    self.session.rules.remove(i);
                }
                known
            }
            Command::SetRuleEnabled(i, on) => match self.session.rules.get_mut(i) {
                Some(r) => {
                    r.enabled = on;
                    true
                }
                None => false,
            },
            _ => false,
        };
        if changed {
            self.apply_impact(Impact::Rescore);
        }
    }

    /// Changes the fusion settings of the current mode, then re-ranks or re-scores.
    fn update_fusion(&mut self, change: impl FnOnce(&mut FusionConfig)) {
        let old = self.session.active_fusion().clone();
        change(self.session.active_fusion_mut());
        let impact = change_impact(&old, self.session.active_fusion());
        self.apply_impact(impact);
    }
}
