//! The validation report: what was read, kept and dropped, and why.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// How many examples of each problem the report keeps.
pub const MAX_EXAMPLES: usize = 5;

/// Why a row was dropped or a value ignored. Stable snake_case ids are used in JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IssueKind {
    /// The row has fewer or more fields than the header.
    RaggedRow,
    /// A JSON line that does not parse as a JSON object.
    MalformedJsonLine,
    /// No item id.
    MissingItemId,
    /// No user id.
    MissingUserId,
    /// No timestamp.
    MissingTimestamp,
    /// A timestamp in no supported format.
    UnparseableTimestamp,
    /// A timestamp before 1970 or after 2100.
    TimestampOutOfRange,
    /// A behaviour event for an item that is not in the catalogue.
    UnknownItem,
    /// The same item id appears again with different fields; the first row is kept.
    DuplicateItemConflicting,
    /// The same item id appears again with identical fields; merged.
    DuplicateItemIdentical,
    /// The same user id appears again in the users table; the first row is kept.
    DuplicateUser,
    /// A rating that is not a number (the event is dropped).
    NonNumericRating,
    /// A price that is not a number (value ignored, item kept).
    NonNumericPrice,
    /// A negative price (value ignored, item kept).
    NegativePrice,
    /// A quantity that is not a number (value ignored, 1 assumed).
    NonNumericQuantity,
    /// An item without a title (kept; listed by its id, embedded from its other text fields if any).
    MissingTitle,
    /// A `created_at` value that does not parse (value ignored).
    UnparseableCreatedAt,
    /// A text value longer than the limit; truncated.
    TruncatedText,
}

impl IssueKind {
    /// Every kind, in display order.
    pub const ALL: [IssueKind; 18] = [
        IssueKind::RaggedRow,
        IssueKind::MalformedJsonLine,
        IssueKind::MissingItemId,
        IssueKind::MissingUserId,
        IssueKind::MissingTimestamp,
        IssueKind::UnparseableTimestamp,
        IssueKind::TimestampOutOfRange,
        IssueKind::UnknownItem,
        IssueKind::DuplicateItemConflicting,
        IssueKind::DuplicateItemIdentical,
        IssueKind::DuplicateUser,
        IssueKind::NonNumericRating,
        IssueKind::NonNumericPrice,
        IssueKind::NegativePrice,
        IssueKind::NonNumericQuantity,
        IssueKind::MissingTitle,
        IssueKind::UnparseableCreatedAt,
        IssueKind::TruncatedText,
    ];

    /// The stable id used in JSON and on the command line.
    pub fn id(self) -> &'static str {
        match self {
            IssueKind::RaggedRow => "ragged_row",
            IssueKind::MalformedJsonLine => "malformed_json_line",
            IssueKind::MissingItemId => "missing_item_id",
            IssueKind::MissingUserId => "missing_user_id",
            IssueKind::MissingTimestamp => "missing_timestamp",
            IssueKind::UnparseableTimestamp => "unparseable_timestamp",
            IssueKind::TimestampOutOfRange => "timestamp_out_of_range",
            IssueKind::UnknownItem => "unknown_item",
            IssueKind::DuplicateItemConflicting => "duplicate_item_conflicting",
            IssueKind::DuplicateItemIdentical => "duplicate_item_identical",
            IssueKind::DuplicateUser => "duplicate_user",
            IssueKind::NonNumericRating => "non_numeric_rating",
            IssueKind::NonNumericPrice => "non_numeric_price",
            IssueKind::NegativePrice => "negative_price",
            IssueKind::NonNumericQuantity => "non_numeric_quantity",
            IssueKind::MissingTitle => "missing_title",
            IssueKind::UnparseableCreatedAt => "unparseable_created_at",
            IssueKind::TruncatedText => "truncated_text",
        }
    }

    /// A sentence a user can read.
    pub fn description(self) -> &'static str {
        match self {
            IssueKind::RaggedRow => "row has a different number of fields than the header",
            IssueKind::MalformedJsonLine => "line is not a valid JSON object",
            IssueKind::MissingItemId => "missing item id",
            IssueKind::MissingUserId => "missing user id",
            IssueKind::MissingTimestamp => "missing timestamp",
            IssueKind::UnparseableTimestamp => "unparseable timestamp",
            IssueKind::TimestampOutOfRange => "timestamp outside 1970–2100",
            IssueKind::UnknownItem => "item id not in the catalogue",
            IssueKind::DuplicateItemConflicting => "duplicate item id with conflicting fields (first kept)",
            IssueKind::DuplicateItemIdentical => "duplicate item row, identical (merged)",
            IssueKind::DuplicateUser => "duplicate user id (first kept)",
            IssueKind::NonNumericRating => "non-numeric rating",
            IssueKind::NonNumericPrice => "non-numeric price (price ignored)",
            IssueKind::NegativePrice => "negative price (price ignored)",
            IssueKind::NonNumericQuantity => "non-numeric quantity (1 assumed)",
            IssueKind::MissingTitle => {
                "item without a title (kept; listed by its id, embedded from its other text fields if it has any)"
            }
            IssueKind::UnparseableCreatedAt => "unparseable created_at (ignored)",
            IssueKind::TruncatedText => "text longer than 100,000 characters (truncated)",
        }
    }

    /// Whether the row is dropped (`true`) or only a value is ignored or merged (`false`).
    pub fn drops_row(self) -> bool {
        matches!(
            self,
            IssueKind::RaggedRow
                | IssueKind::MalformedJsonLine
                | IssueKind::MissingItemId
                | IssueKind::MissingUserId
                | IssueKind::MissingTimestamp
                | IssueKind::UnparseableTimestamp
                | IssueKind::TimestampOutOfRange
                | IssueKind::UnknownItem
                | IssueKind::DuplicateItemConflicting
                | IssueKind::DuplicateItemIdentical
                | IssueKind::DuplicateUser
                | IssueKind::NonNumericRating
        )
    }
}

/// One example of a problem: where it is and what was there.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IssueExample {
    /// 1-based data row (the header is not counted); for JSON lines, the line number.
    pub row: usize,
    /// The column involved, when there is one.
    pub column: Option<String>,
    /// The offending value (shortened).
    pub value: String,
}

/// The count and a few examples of one kind of problem in one file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct IssueCount {
    /// How many rows (or values) had the problem.
    pub count: usize,
    /// Up to [`MAX_EXAMPLES`] examples.
    pub examples: Vec<IssueExample>,
}

/// Which table a file provides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TableKind {
    /// Items and their attributes.
    Catalogue,
    /// Events (who did what with which item, when).
    Behaviour,
    /// User attributes.
    Users,
}

impl TableKind {
    /// Lower-case name.
    pub fn id(self) -> &'static str {
        match self {
            TableKind::Catalogue => "catalogue",
            TableKind::Behaviour => "behaviour",
            TableKind::Users => "users",
        }
    }
}

/// What happened to one input file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileReport {
    /// The file.
    pub path: PathBuf,
    /// Which table it is.
    pub table: TableKind,
    /// Detected format, e.g. "csv (',' separated, gzip)".
    pub format: String,
    /// Column role → column name actually used.
    pub columns_used: BTreeMap<String, String>,
    /// Data rows read (header excluded).
    pub rows_read: usize,
    /// Rows kept.
    pub rows_kept: usize,
    /// Problems by kind.
    pub issues: BTreeMap<IssueKind, IssueCount>,
    /// Other things the user should know (decoded as Latin-1, derived event types, …).
    pub notices: Vec<String>,
}

impl FileReport {
    /// A report for `path` with nothing read yet.
    pub fn new(path: PathBuf, table: TableKind, format: String) -> Self {
        Self {
            path,
            table,
            format,
            columns_used: BTreeMap::new(),
            rows_read: 0,
            rows_kept: 0,
            issues: BTreeMap::new(),
            notices: Vec::new(),
        }
    }

    /// Counts one problem and keeps it as an example if there are fewer than five.
    pub fn record(&mut self, kind: IssueKind, row: usize, column: Option<&str>, value: &str) {
        let entry = self.issues.entry(kind).or_default();
        entry.count += 1;
        if entry.examples.len() < MAX_EXAMPLES {
            entry.examples.push(IssueExample { row, column: column.map(str::to_owned), value: shorten(value, 80) });
        }
    }

    /// Rows dropped, all reasons together.
    pub fn rows_dropped(&self) -> usize {
        self.issues.iter().filter(|(k, _)| k.drops_row()).map(|(_, c)| c.count).sum()
    }

    /// A one-line summary of the drop reasons, for error messages.
    pub fn drop_summary(&self) -> String {
        let parts: Vec<String> = self
            .issues
            .iter()
            .filter(|(k, _)| k.drops_row())
            .map(|(k, c)| {
                let example = c
                    .examples
                    .first()
                    .map(|e| {
                        format!(
                            " (e.g. row {}{}: '{}')",
                            e.row,
                            e.column.as_ref().map(|c| format!(" column '{c}'")).unwrap_or_default(),
                            e.value
                        )
                    })
                    .unwrap_or_default();
                format!("{} × {}{}", c.count, k.description(), example)
            })
            .collect();
        if parts.is_empty() {
            format!("{} rows read, none kept", self.rows_read)
        } else {
            format!("{} rows read, all dropped: {}", self.rows_read, parts.join("; "))
        }
    }
}

/// Shortens `s` to at most `max` characters, marking the cut.
pub fn shorten(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_owned()
    } else {
        let mut out: String = s.chars().take(max).collect();
        out.push('…');
        out
    }
}

/// Everything the user needs to trust (or distrust) a loaded dataset.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ValidationReport {
    /// One entry per input file.
    pub files: Vec<FileReport>,
    /// Items in the catalogue.
    pub items: usize,
    /// Distinct users with at least one kept event.
    pub users: usize,
    /// Events kept.
    pub events: usize,
    /// First and last event time (unix seconds), when there are events.
    pub time_span: Option<(i64, i64)>,
    /// Kept events per event type.
    pub event_types: BTreeMap<String, usize>,
    /// Kept events per calendar month ("2011-03" → count), for the activity plot.
    pub events_per_month: BTreeMap<String, usize>,
}

impl ValidationReport {
    /// Rows dropped per reason, summed over files.
    pub fn dropped_by_reason(&self) -> BTreeMap<IssueKind, usize> {
        let mut out = BTreeMap::new();
        for f in &self.files {
            for (k, c) in &f.issues {
                if k.drops_row() {
                    *out.entry(*k).or_insert(0) += c.count;
                }
            }
        }
        out
    }

    /// The stable JSON object printed by `recfuse validate --json`.
    pub fn to_json(&self) -> serde_json::Value {
        let dropped: serde_json::Map<String, serde_json::Value> = self
            .dropped_by_reason()
            .into_iter()
            .map(|(k, v)| (k.id().to_owned(), serde_json::Value::from(v)))
            .collect();
        let time_span = self.time_span.map(|(a, b)| {
            serde_json::json!({
                "start": super::timestamp::format_utc(a),
                "end": super::timestamp::format_utc(b),
                "start_unix": a,
                "end_unix": b,
                "days": (b - a) as f64 / 86_400.0,
            })
        });
        let files: Vec<serde_json::Value> = self
            .files
            .iter()
            .map(|f| {
                let issues: serde_json::Map<String, serde_json::Value> = f
                    .issues
                    .iter()
                    .map(|(k, c)| {
                        (
                            k.id().to_owned(),
                            serde_json::json!({
                                "count": c.count,
                                "drops_row": k.drops_row(),
                                "description": k.description(),
                                "examples": c.examples,
                            }),
                        )
                    })
                    .collect();
                serde_json::json!({
                    "path": f.path,
                    "table": f.table,
                    "format": f.format,
                    "columns_used": f.columns_used,
                    "rows_read": f.rows_read,
                    "rows_kept": f.rows_kept,
                    "rows_dropped": f.rows_dropped(),
                    "issues": issues,
                    "notices": f.notices,
                })
            })
            .collect();
        serde_json::json!({
            "items": self.items,
            "users": self.users,
            "events": self.events,
            "dropped": dropped,
            "time_span": time_span,
            "event_types": self.event_types,
            "events_per_month": self.events_per_month,
            "files": files,
        })
    }
}
