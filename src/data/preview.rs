//! What *Open dataset* shows before loading: a file's format, size and first rows, and what
//! each of its columns will be read as under a column mapping — the same decisions the
//! loader makes (a column per role, the behaviour file's other few-valued columns kept as
//! event attributes, every other users-table column kept as a shopper attribute).

use std::path::Path;

use super::behaviour_chunk::{MAX_ATTRIBUTE_VALUES, holds_dates};
use super::mapping::{ColumnMapping, Role};
use super::report::TableKind;
use super::{DataError, read_table};

/// Rows of a file shown before loading it.
pub const PREVIEW_ROWS: usize = 5;

/// A file read for the preview: format, rows, columns and the first rows as text.
#[derive(Debug, Clone, PartialEq)]
pub struct FilePreview {
    /// The format as detected ("csv, ',' separated").
    pub format: String,
    /// Data rows in the file.
    pub rows: usize,
    /// Column names in file order.
    pub columns: Vec<String>,
    /// The first [`PREVIEW_ROWS`] rows, one text per column.
    pub head: Vec<Vec<String>>,
    /// Per column: whether it would be kept as an event attribute when no role uses it
    /// (at most the loader's number of distinct values, and not dates).
    few_values: Vec<bool>,
}

/// Reads `path` (any supported format) for the preview.
pub fn preview_file(path: &Path) -> Result<FilePreview, DataError> {
    let table = read_table(path)?;
    let columns = table.column_names();
    let few_values = columns
        .iter()
        .map(|c| {
            table.frame.column(c).is_ok_and(|col| {
                col.n_unique().is_ok_and(|u| u <= MAX_ATTRIBUTE_VALUES) && !holds_dates(col.as_materialized_series())
            })
        })
        .collect();
    Ok(FilePreview {
        format: table.format_label.clone(),
        rows: table.rows,
        head: table.preview(PREVIEW_ROWS),
        columns,
        few_values,
    })
}

impl FilePreview {
    /// What loading this file as `table` with `mapping` reads each column as, in column
    /// order: a role id (`user_id`, `timestamp`, …), an attribute, or "not read".
    pub fn read_as(&self, table: TableKind, mapping: &ColumnMapping) -> Vec<String> {
        let resolved = mapping.resolve(table, &self.columns);
        self.columns
            .iter()
            .zip(&self.few_values)
            .map(|(column, &few)| {
                if let Some((role, _)) = resolved.columns.iter().find(|(_, c)| *c == column) {
                    return match role {
                        Role::Channel | Role::SessionId => format!("{} (event attribute)", role.id()),
                        _ => role.id().to_owned(),
                    };
                }
                match table {
                    TableKind::Behaviour if few => "event attribute (segment)".to_owned(),
                    TableKind::Users => "shopper attribute (segment)".to_owned(),
                    _ => "not read".to_owned(),
                }
            })
            .collect()
    }
}
