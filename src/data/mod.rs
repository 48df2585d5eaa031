//! The data layer: catalogue, behaviour and users tables from CSV/TSV, Parquet, JSON
//! Lines, RecBole and MovieLens files (optionally gzip-compressed), with column roles
//! mapped automatically and every dropped row counted in a [`ValidationReport`].
//!
//! Files are read in one pass by [`read`] into a [`RawTable`] (the types in [`table`]):
//! polars reads delimited text and Parquet; JSON Lines are parsed line by line (see
//! [`read::jsonl`]). Input files are only ever opened for reading.

pub mod behaviour;
mod behaviour_build;
mod behaviour_chunk;
pub mod catalogue;
mod columns;
mod duplicates;
mod encoded;
pub mod error;
pub mod follow;
pub mod format;
pub mod intern;
pub mod jsonl;
pub mod mapping;
pub mod preview;
pub mod read;
pub mod report;
pub mod scores;
pub mod segments;
pub mod table;
pub mod text;
pub mod timestamp;
pub mod users;
pub mod weights;
pub mod write;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub use behaviour::{Behaviour, DerivedItems, EventAttribute, ItemSource, NewEvent};
pub use catalogue::Catalogue;
pub use error::DataError;
pub use intern::Interner;
pub use mapping::{ColumnMapping, ResolvedMapping, Role};
pub use read::read_table;
pub use report::{FileReport, IssueCount, IssueExample, IssueKind, TableKind, ValidationReport};
pub use segments::{SegmentDimension, ShopperSegments};
pub use table::RawTable;
pub use users::UserTable;
pub use weights::{EventWeights, RatingRule};

use crate::jobs::Progress;

/// Which files to load and how their columns map to roles (saved with the session).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DataSources {
    /// Catalogue file; when absent, items are derived from the behaviour file.
    pub catalogue: Option<PathBuf>,
    /// Behaviour file (required).
    pub behaviour: PathBuf,
    /// Optional users file.
    pub users: Option<PathBuf>,
    /// Column overrides for the catalogue.
    pub catalogue_mapping: ColumnMapping,
    /// Column overrides for the behaviour file.
    pub behaviour_mapping: ColumnMapping,
    /// Column overrides for the users file.
    pub users_mapping: ColumnMapping,
    /// Score files imported as external signals (`data::scores`).
    pub signals: Vec<scores::SignalFile>,
}

impl DataSources {
    /// Makes relative file paths relative to `dir` (the folder of the session file that
    /// names them), so a session opens the same files from any working directory.
    pub fn resolve_relative_to(&mut self, dir: &Path) {
        let resolve = |p: &mut PathBuf| {
            if p.is_relative() && !p.as_os_str().is_empty() {
                *p = dir.join(&*p);
            }
        };
        resolve(&mut self.behaviour);
        if let Some(c) = &mut self.catalogue {
            resolve(c);
        }
        if let Some(u) = &mut self.users {
            resolve(u);
        }
        for signal in &mut self.signals {
            resolve(&mut signal.path);
        }
    }

    /// Applies `--map role=column` overrides to every table whose file has that column.
    /// `table.role=column` (e.g. `behaviour.timestamp=InvoiceDate`) targets one table.
    pub fn with_cli_mapping(mut self, args: &[String]) -> Result<Self, DataError> {
        for arg in args {
            let (target, rest) = match arg.split_once('.') {
                Some((t, r)) if ["catalogue", "behaviour", "users"].contains(&t) && r.contains('=') => {
                    (Some(t), r.to_owned())
                }
                _ => (None, arg.clone()),
            };
            let parsed = ColumnMapping::from_args(std::slice::from_ref(&rest))?;
            for (role, column) in parsed.overrides {
                if target.is_none_or(|t| t == "catalogue") {
                    self.catalogue_mapping.overrides.insert(role, column.clone());
                }
                if target.is_none_or(|t| t == "behaviour") {
                    self.behaviour_mapping.overrides.insert(role, column.clone());
                }
                if target.is_none_or(|t| t == "users") {
                    self.users_mapping.overrides.insert(role, column);
                }
            }
        }
        Ok(self)
    }
}

/// A loaded dataset: catalogue, behaviour log, optional users and the report.
#[derive(Debug, Clone, Default)]
pub struct Dataset {
    /// Items.
    pub catalogue: Catalogue,
    /// Events.
    pub behaviour: Behaviour,
    /// Optional user attributes.
    pub users: Option<UserTable>,
    /// What was read, kept and dropped.
    pub report: ValidationReport,
    /// Event weights in effect.
    pub weights: EventWeights,
}

impl Dataset {
    /// Whether the items were derived from the behaviour file (no catalogue file loaded).
    pub fn catalogue_derived(&self) -> bool {
        !self.report.files.iter().any(|f| f.table == TableKind::Catalogue)
    }

    /// Changes the event weights without reloading.
    pub fn set_weights(&mut self, weights: EventWeights) {
        self.behaviour.apply_weights(&weights);
        self.weights = weights;
    }
}

/// Rows read from a followed source after the initial load, with their own report: new
/// events, and items not in the loaded catalogue (new rows of a followed catalogue file,
/// or, when the catalogue is derived from the behaviour file, items the events name).
#[derive(Debug, Clone)]
pub struct EventBatch {
    /// The new events (their own user and event-type indices; see [`Behaviour::append`];
    /// item indices past the loaded catalogue are [`Self::new_items`] in order).
    pub behaviour: Behaviour,
    /// What was read, kept and dropped in this batch (row numbers are the file's; its
    /// table says which file: the behaviour or the catalogue file).
    pub report: FileReport,
    /// Items to append to the catalogue before the events ([`Catalogue::append_items`]).
    pub new_items: Catalogue,
    /// The new items' texts under the session's embedding template, set by the session
    /// layer (which knows the template); empty until then.
    pub item_texts: Vec<String>,
}

impl EventBatch {
    /// Rows dropped because their item is not in the loaded catalogue.
    pub fn unknown_items(&self) -> usize {
        self.report.issues.get(&IssueKind::UnknownItem).map_or(0, |c| c.count)
    }
}

/// Builds new rows of the behaviour source into events with the same column mapping,
/// weights and checks as the initial load: rows whose item is not in the loaded
/// catalogue, or whose id or timestamp is missing or unparseable, are dropped and counted.
pub fn build_batch(rows: follow::NewRows, dataset: &Dataset, mapping: &ColumnMapping) -> Result<EventBatch, DataError> {
    let rows_before = rows.rows_before;
    let mut table = rows.table;
    let mut report = new_report(&table, TableKind::Behaviour);
    let resolved = resolve_mapping(
        &table,
        TableKind::Behaviour,
        mapping,
        &[Role::UserId, Role::ItemId, Role::Timestamp],
        &mut report,
    )?;
    report.notices.extend(columns::normalise_columns(&mut table, &resolved));
    let unread = report.clone();
    let known = Behaviour::from_table(
        &table,
        &resolved,
        ItemSource::Catalogue(&dataset.catalogue),
        &dataset.weights,
        &mut report,
    );
    let unknown = report.issues.get(&IssueKind::UnknownItem).map_or(0, |c| c.count);
    let (behaviour, new_items) = if dataset.catalogue_derived() && unknown > 0 {
        // Items the events name that the derived catalogue lacks become new items: the rows
        // are read again, collecting the items (only batches that name new ones pay this).
        report = unread;
        let mut derived = DerivedItems::seeded(&dataset.catalogue.ids);
        let behaviour =
            Behaviour::from_table(&table, &resolved, ItemSource::Derive(&mut derived), &dataset.weights, &mut report);
        (behaviour, derived.catalogue_from(dataset.catalogue.len()))
    } else {
        (known, Catalogue::default())
    };
    shift_rows(&mut report, rows_before);
    Ok(EventBatch { behaviour, report, new_items, item_texts: Vec::new() })
}

/// Moves the row numbers of a batch's examples past the `rows_before` rows read earlier.
fn shift_rows(report: &mut FileReport, rows_before: usize) {
    for issue in report.issues.values_mut() {
        for example in &mut issue.examples {
            example.row += rows_before;
        }
    }
}

/// New rows of a followed catalogue file, read with the catalogue's mapping and checks.
pub struct CatalogueRows {
    /// The rows for items the catalogue lacks, as a batch without events.
    pub batch: EventBatch,
    /// Row numbers (in the file) of rows naming items already in the catalogue: changes
    /// that only a new load takes in.
    pub changed_rows: Vec<usize>,
}

/// Builds new rows of a followed catalogue file into new items, with the same column
/// mapping and checks as the initial load.
pub fn build_catalogue_rows(
    rows: follow::NewRows,
    dataset: &Dataset,
    mapping: &ColumnMapping,
) -> Result<CatalogueRows, DataError> {
    let rows_before = rows.rows_before;
    let mut table = rows.table;
    let mut report = new_report(&table, TableKind::Catalogue);
    let resolved = resolve_mapping(&table, TableKind::Catalogue, mapping, &[Role::ItemId], &mut report)?;
    report.notices.extend(columns::normalise_columns(&mut table, &resolved));
    let (new_items, changed) = Catalogue::new_rows_from_table(&table, &resolved, &mut report, &dataset.catalogue.ids);
    shift_rows(&mut report, rows_before);
    Ok(CatalogueRows {
        batch: EventBatch { behaviour: Behaviour::default(), report, new_items, item_texts: Vec::new() },
        changed_rows: changed.into_iter().map(|r| r + rows_before).collect(),
    })
}

/// The event time of every data row of a behaviour file, in file order (`None` where the
/// timestamp is missing or unusable), read with the same reader, mapping and timestamp
/// rules as a load. Used to replay a log in time order.
pub fn row_times(path: &Path, mapping: &ColumnMapping) -> Result<Vec<Option<i64>>, DataError> {
    let mut table = read_table(path)?;
    let mut report = new_report(&table, TableKind::Behaviour);
    let resolved = resolve_mapping(&table, TableKind::Behaviour, mapping, &[Role::Timestamp], &mut report)?;
    columns::normalise_columns(&mut table, &resolved);
    let column = resolved.get(Role::Timestamp).map(str::to_owned).unwrap_or_default();
    let cells = table.cells(&column).unwrap_or_default();
    let bad: std::collections::HashSet<usize> = table.bad_rows.iter().map(|(r, _)| *r).collect();
    let mut out: Vec<Option<i64>> = vec![None; table.rows];
    for (row, (slot, cell)) in out.iter_mut().zip(cells).enumerate() {
        if !bad.contains(&row) {
            *slot = behaviour_chunk::event_time(Some(cell)).ok();
        }
    }
    Ok(out)
}

impl Dataset {
    /// Appends a batch of live events: the log grows, the behaviour file's report counts
    /// the batch's rows read, kept and dropped (with its examples, up to the usual five),
    /// and the summary is recomputed. Returns the new events.
    pub fn append_batch(&mut self, batch: &EventBatch) -> Vec<NewEvent> {
        self.catalogue.append_items(&batch.new_items);
        let added = if batch.behaviour.is_empty() { Vec::new() } else { self.behaviour.append(&batch.behaviour) };
        if let Some(file) = self.report.files.iter_mut().find(|f| f.table == batch.report.table) {
            file.rows_read += batch.report.rows_read;
            file.rows_kept += batch.report.rows_kept;
            for (kind, count) in &batch.report.issues {
                let entry = file.issues.entry(*kind).or_default();
                entry.count += count.count;
                let room = report::MAX_EXAMPLES.saturating_sub(entry.examples.len());
                entry.examples.extend(count.examples.iter().take(room).cloned());
            }
            for notice in &batch.report.notices {
                if !file.notices.contains(notice) {
                    file.notices.push(notice.clone());
                }
            }
        }
        let files = std::mem::take(&mut self.report.files);
        self.report = summarise(files, &self.catalogue, &self.behaviour);
        added
    }
}

/// Checks overrides against the file's columns, resolves the mapping and checks the
/// required roles.
fn resolve_mapping(
    table: &RawTable,
    kind: TableKind,
    mapping: &ColumnMapping,
    required: &[Role],
    report: &mut FileReport,
) -> Result<ResolvedMapping, DataError> {
    let columns = table.column_names();
    let mut effective = mapping.clone();
    // Overrides for roles of this table whose column is absent: an error when the role is
    // required here, otherwise ignored (a `--map` may target another table).
    for (role, column) in &mapping.overrides {
        if column.is_empty() || columns.contains(column) || !Role::for_table(kind).contains(role) {
            continue;
        }
        if required.contains(role) {
            return Err(DataError::MappedColumnAbsent {
                path: table.path.clone(),
                role_id: role.id().to_owned(),
                column: column.clone(),
                found: columns.join(", "),
            });
        }
        effective.overrides.remove(role);
    }
    check_overrides_distinct(table, kind, &effective, required)?;
    let resolved = effective.resolve(kind, &columns);
    for role in required {
        if effective.overrides.get(role).is_some_and(String::is_empty) {
            return Err(DataError::RequiredRoleUnmapped {
                path: table.path.clone(),
                role: role.id().replace('_', " "),
                role_id: role.id().to_owned(),
                found: columns.join(", "),
            });
        }
        if resolved.get(*role).is_none() {
            return Err(DataError::MissingColumn {
                path: table.path.clone(),
                role: role.id().replace('_', " "),
                role_id: role.id().to_owned(),
                expected: role.spellings().iter().take(8).cloned().collect::<Vec<_>>().join(", "),
                found: columns.join(", "),
            });
        }
    }
    report.columns_used = resolved.by_role_id();
    Ok(resolved)
}

/// Refuses a required role (an id) mapped to the same column as another role of this table.
fn check_overrides_distinct(
    table: &RawTable,
    kind: TableKind,
    mapping: &ColumnMapping,
    required: &[Role],
) -> Result<(), DataError> {
    let mut seen: BTreeMap<&str, Role> = BTreeMap::new();
    for (role, column) in &mapping.overrides {
        if column.is_empty() || !Role::for_table(kind).contains(role) {
            continue;
        }
        if let Some(first) = seen.insert(column.as_str(), *role)
            && (required.contains(&first) || required.contains(role))
        {
            return Err(DataError::ColumnMappedTwice {
                path: table.path.clone(),
                first: first.id().to_owned(),
                second: role.id().to_owned(),
                column: column.clone(),
            });
        }
    }
    Ok(())
}

fn new_report(table: &RawTable, kind: TableKind) -> FileReport {
    let mut report = FileReport::new(format::absolute(&table.path), kind, table.format_label.clone());
    report.rows_read = table.rows;
    report.notices.extend(table.notices.iter().cloned());
    report
}

/// Loads a catalogue file on its own.
pub fn load_catalogue(path: &Path, mapping: &ColumnMapping) -> Result<(Catalogue, FileReport), DataError> {
    let mut table = read_table(path)?;
    let mut report = new_report(&table, TableKind::Catalogue);
    let resolved = resolve_mapping(&table, TableKind::Catalogue, mapping, &[Role::ItemId], &mut report)?;
    report.notices.extend(columns::normalise_columns(&mut table, &resolved));
    if resolved.get(Role::Title).is_none() {
        report.notices.push(
            "no title column: items are listed by their ids, and the semantic signal embeds only the other text \
             fields the item text template reads (by default category, brand and description)"
                .to_owned(),
        );
    }
    let mut catalogue = Catalogue::from_table(&table, &resolved, &mut report);
    if catalogue.is_empty() {
        return Err(DataError::NothingUsable { path: path.to_path_buf(), summary: report.drop_summary() });
    }
    report.notices.extend(catalogue.mark_duplicates());
    Ok((catalogue, report))
}

/// Loads the catalogue (or derives it), the behaviour log and the optional users table,
/// and builds the validation report.
pub fn load_dataset(sources: &DataSources, weights: &EventWeights, progress: &Progress) -> Result<Dataset, DataError> {
    let mut files = Vec::new();
    progress.start_stage("reading catalogue", 3);
    let catalogue_file = match &sources.catalogue {
        Some(path) => {
            let (catalogue, report) = load_catalogue(path, &sources.catalogue_mapping)?;
            files.push(report);
            Some(catalogue)
        }
        None => None,
    };
    progress.start_stage("reading behaviour", 3);
    progress.set_done(1);
    let mut table = read_table(&sources.behaviour)?;
    let mut report = new_report(&table, TableKind::Behaviour);
    let resolved = resolve_mapping(
        &table,
        TableKind::Behaviour,
        &sources.behaviour_mapping,
        &[Role::UserId, Role::ItemId, Role::Timestamp],
        &mut report,
    )?;
    report.notices.extend(columns::normalise_columns(&mut table, &resolved));
    let (catalogue, behaviour) = match catalogue_file {
        Some(catalogue) => {
            let b = Behaviour::from_table(&table, &resolved, ItemSource::Catalogue(&catalogue), weights, &mut report);
            (catalogue, b)
        }
        None => {
            let mut derived = DerivedItems::default();
            let b = Behaviour::from_table(&table, &resolved, ItemSource::Derive(&mut derived), weights, &mut report);
            report.notices.push(format!(
                "no catalogue file: {} items derived from the behaviour file (most frequent title, median price)",
                derived.ids.len()
            ));
            let mut cat = Catalogue::from_behaviour_items(
                &derived.ids,
                &derived.titles,
                &derived.prices,
                &derived.categories,
                &derived.brands,
            );
            report.notices.extend(cat.mark_duplicates());
            (cat, b)
        }
    };
    if resolved.get(Role::EventType).is_none() {
        let derived_from = if resolved.get(Role::Rating).is_some() {
            "the rating column (rating rule)"
        } else if resolved.get(Role::Invoice).is_some() {
            "invoice numbers (a leading 'C' marks a cancellation)"
        } else {
            "nothing: every event is an 'interaction'"
        };
        report.notices.push(format!("no event type column; event types derived from {derived_from}"));
    }
    drop(table);
    if behaviour.is_empty() {
        return Err(DataError::NothingUsable { path: sources.behaviour.clone(), summary: report.drop_summary() });
    }
    files.push(report);
    progress.start_stage("reading users", 3);
    progress.set_done(2);
    let users = match &sources.users {
        Some(path) => {
            let table = read_table(path)?;
            let mut report = new_report(&table, TableKind::Users);
            let resolved =
                resolve_mapping(&table, TableKind::Users, &sources.users_mapping, &[Role::UserId], &mut report)?;
            let users = UserTable::from_table(&table, &resolved, &mut report);
            files.push(report);
            Some(users)
        }
        None => None,
    };
    let report = summarise(files, &catalogue, &behaviour);
    progress.set_done(3);
    Ok(Dataset { catalogue, behaviour, users, report, weights: weights.clone() })
}

fn summarise(files: Vec<FileReport>, catalogue: &Catalogue, behaviour: &Behaviour) -> ValidationReport {
    let time_span = match (behaviour.time.first(), behaviour.time.last()) {
        (Some(&a), Some(&b)) => Some((a, b)),
        _ => None,
    };
    let mut per_month: BTreeMap<String, usize> = BTreeMap::new();
    // Events are sorted by time: one month key per run of events on the same day.
    for day in behaviour.time.chunk_by(|a, b| a.div_euclid(86_400) == b.div_euclid(86_400)) {
        if let Some(&t) = day.first() {
            *per_month.entry(timestamp::month_key(t)).or_insert(0) += day.len();
        }
    }
    let mut active = vec![false; behaviour.users.len()];
    for &u in &behaviour.user {
        if let Some(a) = active.get_mut(u as usize) {
            *a = true;
        }
    }
    ValidationReport {
        files,
        items: catalogue.len(),
        users: active.iter().filter(|a| **a).count(),
        events: behaviour.len(),
        time_span,
        event_types: behaviour.event_type_histogram(),
        events_per_month: per_month,
    }
}
