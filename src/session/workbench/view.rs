//! The current view: the shopper's or query's cached candidates, the explained list and
//! how far each item moved at the last re-rank; and the selection commands.

use std::collections::HashMap;

use super::Workbench;
use crate::score::Query;
use crate::session::command::Command;
use crate::session::engine::{Engine, ExplainedItem, Target, TargetState};
use crate::session::impact::{Impact, change_impact};
use crate::session::{Mode, Session};

/// The current shopper's or query's candidates and explained list.
#[derive(Default)]
pub struct CurrentView {
    target: Option<TargetState>,
    list: Vec<ExplainedItem>,
    rank_moves: HashMap<u32, i64>,
    /// While one signal's weight is moved step after step (a slider drag), the moves are
    /// counted from the list before the first step, not from the previous frame's list.
    gesture: Option<(crate::score::SignalId, HashMap<u32, usize>)>,
}

impl CurrentView {
    /// Cached candidates of the current shopper or query.
    pub fn target(&self) -> Option<&TargetState> {
        self.target.as_ref()
    }

    /// The explained list.
    pub fn list(&self) -> &[ExplainedItem] {
        &self.list
    }

    /// Places each listed item moved at the last re-rank (positive = up); absent = new.
    pub fn rank_moves(&self) -> &HashMap<u32, i64> {
        &self.rank_moves
    }

    /// The candidates, to rank them under another configuration (Compare's B side).
    pub(super) fn target_mut(&mut self) -> Option<&mut TargetState> {
        self.target.as_mut()
    }

    pub(super) fn clear(&mut self) {
        self.target = None;
        self.list.clear();
        self.rank_moves.clear();
        self.gesture = None;
    }

    /// A weight of `signal` is about to move: the first of a run of moves of the same
    /// signal keeps the list as it is now, to count the moves from.
    pub(super) fn weight_moving(&mut self, signal: crate::score::SignalId) {
        if self.gesture.as_ref().is_none_or(|(s, _)| *s != signal) {
            let baseline = self.list.iter().map(|e| (e.ranked.item, e.position)).collect();
            self.gesture = Some((signal, baseline));
        }
    }

    /// Any other change ends a run of weight moves.
    pub(super) fn end_gesture(&mut self) {
        self.gesture = None;
    }

    /// Shows a newly scored target (no rank moves: it is a different list).
    fn show(&mut self, engine: &Engine, state: TargetState, session: &Session) {
        self.target = Some(state);
        self.gesture = None;
        self.list.clear();
        self.rerank(engine, session);
        self.rank_moves.clear();
    }

    /// Shows the same target scored again (live events): rank moves are kept against the
    /// list shown before.
    fn show_again(&mut self, engine: &Engine, state: TargetState, session: &Session) {
        self.target = Some(state);
        self.rerank(engine, session);
    }

    /// Re-fuses the cached candidate scores (no re-scoring) and records how far each
    /// item moved.
    fn rerank(&mut self, engine: &Engine, session: &Session) {
        let Some(target) = &mut self.target else { return };
        let before: HashMap<u32, usize> = match &self.gesture {
            Some((_, baseline)) => baseline.clone(),
            None => self.list.iter().map(|e| (e.ranked.item, e.position)).collect(),
        };
        self.list = engine.explain(target, session.active_fusion(), &session.rules, session.selection.k);
        self.rank_moves = self
            .list
            .iter()
            .filter_map(|e| before.get(&e.ranked.item).map(|&p| (e.ranked.item, p as i64 - e.position as i64)))
            .collect();
    }
}

impl Workbench {
    /// Mode, shopper, query, list length and the inspected item.
    pub(super) fn handle_selection(&mut self, command: Command) {
        match command {
            Command::SetMode(m) => {
                let old = self.session.active_fusion().clone();
                self.session.selection.mode = m;
                let impact = change_impact(&old, self.session.active_fusion());
                self.refresh_a();
                self.update_b(impact);
            }
            Command::SelectShopper(id) => {
                self.session.selection.shopper = Some(id);
                self.session.selection.mode = Mode::Recommend;
                self.refresh_a();
                self.update_b(Impact::Rerank);
            }
            Command::SetQuery(q) => {
                self.session.selection.query = q;
                self.session.selection.mode = Mode::Search;
                self.refresh_a();
                self.update_b(Impact::Rerank);
            }
            Command::SetK(k) => {
                self.session.selection.k = k.clamp(1, 200);
                self.apply_impact(Impact::Rerank);
            }
            Command::SelectItem(item) => {
                self.session.selection.item =
                    item.and_then(|i| self.dataset().map(|d| d.catalogue.ids.name(i).to_owned()));
            }
            _ => {}
        }
    }

    /// Brings A and B up to date after a change that costs `impact`.
    pub(super) fn apply_impact(&mut self, impact: Impact) {
        match impact {
            Impact::Rescore => self.refresh_a(),
            Impact::Rerank => {
                if let Some(engine) = self.data.engine() {
                    self.view.rerank(engine, &self.session);
                }
            }
        }
        self.update_b(impact);
    }

    /// Scores the current shopper or query again after live events (the engine changed)
    /// and keeps the rank moves against the previous list; B follows.
    pub(super) fn refresh_after_live(&mut self) {
        self.rescore_a(true);
        self.update_b(Impact::Rescore);
    }

    /// [`Self::refresh_after_live`] with the shopper's candidates already scored (by the
    /// follow job, on the installed engine): only the re-rank runs here.
    pub(super) fn refresh_after_live_with(&mut self, state: TargetState) {
        let Some(engine) = self.data.engine() else { return };
        self.view.show_again(engine, state, &self.session);
        self.update_b(Impact::Rescore);
    }

    /// Scores candidates for the current shopper or query (the query is embedded once
    /// per text), then ranks them.
    fn refresh_a(&mut self) {
        self.rescore_a(false);
    }

    fn rescore_a(&mut self, keep_moves: bool) {
        if self.data.engine().is_none() {
            return;
        }
        let selection = &self.session.selection;
        let target = match selection.mode {
            Mode::Recommend => match &selection.shopper {
                Some(s) => Target::Shopper(s.clone()),
                None => return,
            },
            Mode::Search => {
                let text = selection.query.trim().to_owned();
                if text.is_empty() {
                    self.view.clear();
                    return;
                }
                let embedding = self.embedding.embed_query(&text);
                Target::Search { query: Query { text, embedding }, shopper: selection.shopper.clone() }
            }
        };
        let Some(engine) = self.data.engine() else { return };
        let state = engine.prepare_target(target, self.session.active_fusion(), &self.session.rules);
        if keep_moves {
            self.view.show_again(engine, state, &self.session);
        } else {
            self.view.show(engine, state, &self.session);
        }
    }
}
