//! The GUI's own state, shared by the app and the panels: tabs, dialog purposes, the
//! settings eframe persists, and each panel's transient widget state. Nothing here is
//! engine state; that lives in the [`Workbench`](crate::session::Workbench).

use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use eframe::egui;
use serde::{Deserialize, Serialize};

use crate::data::TableKind;
use crate::score::SignalId;
use crate::session::ExportKind;

/// The centre tabs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Tab {
    /// Recommendations for a shopper or a query.
    #[default]
    Recommendations,
    /// A vs B.
    Compare,
    /// Offline metrics.
    Evaluate,
    /// Embedding map.
    Explore,
    /// Validation report.
    Data,
}

impl Tab {
    /// Every tab in display order.
    pub const ALL: [Tab; 5] = [Tab::Recommendations, Tab::Compare, Tab::Evaluate, Tab::Explore, Tab::Data];

    /// Tab title.
    pub fn title(self) -> &'static str {
        match self {
            Tab::Recommendations => "Recommendations",
            Tab::Compare => "Compare",
            Tab::Evaluate => "Evaluate",
            Tab::Explore => "Explore",
            Tab::Data => "Data",
        }
    }
}

/// What a file dialog was opened for.
#[derive(Debug, Clone, PartialEq)]
pub enum DialogPurpose {
    /// Pick a data file for a table.
    DataFile(TableKind),
    /// Pick a model folder.
    ModelDir,
    /// Save the session.
    SaveSession,
    /// Open a session.
    LoadSession,
    /// Export something.
    Export(ExportKind),
    /// Save a plot as PNG.
    PlotPng(String),
    /// Pick a score file to import as an external signal.
    SignalFile,
    /// Pick a folder of Spark `part-*` score files to import as an external signal.
    SignalFolder,
}

/// GUI-only settings persisted by eframe between runs.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct UiSettings {
    /// Dark theme.
    pub dark: bool,
    /// Recently opened data and session files.
    pub recent: Vec<PathBuf>,
    /// Selected tab.
    pub tab: Tab,
    /// The first-open guide was dismissed.
    pub guide_dismissed: bool,
}

/// Compare tab widget state (what is compared and B itself live in the workbench).
#[derive(Debug, Clone)]
pub struct CompareUi {
    /// RBO persistence.
    pub rbo_p: f64,
    /// Shopper B as being typed (applied on Enter); shown as the displayed id otherwise.
    pub shopper_b_draft: String,
    /// Whether the shopper B field had the keyboard focus last frame.
    pub shopper_b_editing: bool,
}

impl Default for CompareUi {
    fn default() -> Self {
        Self { rbo_p: 0.9, shopper_b_draft: String::new(), shopper_b_editing: false }
    }
}

/// Evaluate tab widget state.
#[derive(Debug, Clone)]
pub struct EvaluateUi {
    /// Signal of the one-weight sweep.
    pub sweep_signal: SignalId,
    /// Signals of the heatmap.
    pub grid_a: SignalId,
    /// Second heatmap signal.
    pub grid_b: SignalId,
    /// Text of the K list.
    pub ks_text: String,
}

impl Default for EvaluateUi {
    fn default() -> Self {
        Self { sweep_signal: SignalId::ALS, grid_a: SignalId::ALS, grid_b: SignalId::ITEM_CF, ks_text: "10".to_owned() }
    }
}

/// Colouring of the embedding map.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ColourBy {
    /// Top-level category.
    Category,
    /// Interactions (log scale).
    #[default]
    Popularity,
    /// k-means cluster of the embeddings.
    Cluster,
}

/// Explore tab widget state.
#[derive(Debug, Clone, Default)]
pub struct ExploreUi {
    /// Colouring.
    pub colour_by: ColourBy,
}

/// Kind of rule chosen in the form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FormAction {
    /// Pin.
    Pin,
    /// Boost.
    #[default]
    Boost,
    /// Bury.
    Bury,
    /// Hide.
    Hide,
}

/// What the rule applies to, in the form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FormTarget {
    /// An item id.
    #[default]
    Item,
    /// A category.
    Category,
    /// A brand.
    Brand,
    /// A price range.
    Price,
}

/// Whose lists a rule made in the form changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FormScope {
    /// Every list.
    #[default]
    All,
    /// The selected shopper's.
    ThisShopper,
    /// Searches whose query contains a text.
    Queries,
    /// The shoppers of a segment (a value of a users-table or event column).
    Segment,
}

/// State of the add-rule form.
#[derive(Debug, Clone)]
pub struct RuleForm {
    /// Action.
    pub action: FormAction,
    /// Target kind.
    pub target: FormTarget,
    /// Item id, category or brand.
    pub value: String,
    /// Price range.
    pub min: f32,
    /// Price range.
    pub max: f32,
    /// Multiplier of boost/bury.
    pub factor: f32,
    /// Pin position.
    pub position: usize,
    /// Whose lists it changes.
    pub scope: FormScope,
    /// The text queries must contain (scope `Queries`).
    pub query: String,
    /// The segment's dimension (scope `Segment`), e.g. `country`.
    pub segment_dimension: String,
    /// The segment's value (scope `Segment`), e.g. `France`.
    pub segment_value: String,
}

impl Default for RuleForm {
    fn default() -> Self {
        Self {
            action: FormAction::Boost,
            target: FormTarget::Item,
            value: String::new(),
            min: 0.0,
            max: 10.0,
            factor: 1.5,
            position: 1,
            scope: FormScope::All,
            query: String::new(),
            segment_dimension: String::new(),
            segment_value: String::new(),
        }
    }
}

/// A file's preview as *Open dataset* shows it: `None` while it is read, then the preview or
/// why it could not be read.
pub type PreviewSlot = Option<Result<crate::data::preview::FilePreview, String>>;

/// The dataset *Open dataset* is about to load: one path per table (catalogue, behaviour,
/// users), the column mapping each will be read with, and each file's preview.
#[derive(Debug, Clone, Default)]
pub struct OpenDatasetDraft {
    /// The files, in [`TableKind`] order (catalogue, behaviour, users).
    pub paths: [Option<PathBuf>; 3],
    /// The mapping of each (the session's when the file is the one loaded, else automatic).
    pub mappings: [crate::data::ColumnMapping; 3],
    /// The preview of each (only where there is a path).
    pub previews: [PreviewSlot; 3],
}

/// Transient UI state shared by the panels.
#[derive(Default)]
pub struct UiState {
    /// Persisted GUI settings.
    pub settings: UiSettings,
    /// Text typed in the shopper search box.
    pub shopper_filter: String,
    /// Enter in the shopper box matched no single shopper.
    pub shopper_filter_miss: bool,
    /// Query being typed (applied on Enter or button).
    pub query_draft: String,
    /// Path fields of the data panel, before they are applied.
    pub path_drafts: [String; 3],
    /// Why the typed paths cannot be opened.
    pub path_error: Option<String>,
    /// The session's paths when the fields were last set from them.
    pub paths_seen: [String; 3],
    /// Whether the column-mapping window is open, and for which table.
    pub mapping_window: Option<TableKind>,
    /// The *Open dataset* window: the files about to be loaded, their mapping and preview.
    pub open_dataset: Option<OpenDatasetDraft>,
    /// A dropped file waiting for the user to say which table it is.
    pub dropped: Option<PathBuf>,
    /// Compare tab state.
    pub compare: CompareUi,
    /// Evaluate tab state.
    pub evaluate: EvaluateUi,
    /// Explore tab state.
    pub explore: ExploreUi,
    /// Rule editor state.
    pub rule_form: RuleForm,
    /// The notices window (every notice, and those no longer shown) is open.
    pub notices_window: bool,
    /// The presentation view is on (configuration hidden, everything larger).
    pub presenting: bool,
    /// The shoppers the presentation steps through.
    pub present_shoppers: Vec<String>,
    /// Which of them is shown.
    pub present_at: usize,
    /// The inspector's rule buttons make rules for every list (else for the one on screen).
    pub rule_for_every_list: bool,
    /// Screen rectangles of plots drawn this frame, by name (for PNG export).
    pub plot_rects: HashMap<String, egui::Rect>,
    /// A plot PNG waiting for the screenshot: (plot name, target file).
    pub pending_png: Option<(String, PathBuf)>,
    /// A path typed for the file dialog fallback.
    pub dialog_fallback: Option<(DialogPurpose, String)>,
    /// Last frame times in milliseconds (status bar statistic).
    pub frame_ms: VecDeque<f32>,
    /// Where the screenshot callback leaves the image.
    pub screenshot: Arc<Mutex<Option<Arc<egui::ColorImage>>>>,
    /// Whether a screenshot was requested for the pending PNG.
    pub screenshot_requested: bool,
}
