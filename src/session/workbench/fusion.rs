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
