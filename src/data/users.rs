//! The optional users table: attributes per user id.

use std::collections::HashMap;

use super::catalogue::record_bad_row;
use super::mapping::{ResolvedMapping, Role};
use super::report::{FileReport, IssueKind};
use super::table::{BadRow, RawTable};

/// User attributes (segment, region, …) by user id.
#[derive(Debug, Clone, Default)]
pub struct UserTable {
    /// Attribute column names.
    pub columns: Vec<String>,
    /// User id → values in `columns` order (empty string when missing).
    pub rows: HashMap<String, Vec<String>>,
}

impl UserTable {
    /// The value of attribute `column` for `user`.
    pub fn attribute(&self, user: &str, column: &str) -> Option<&str> {
        let c = self.columns.iter().position(|n| n == column)?;
        self.rows.get(user)?.get(c).map(String::as_str).filter(|s| !s.is_empty())
    }

    /// Builds the table, recording dropped rows in `report`.
    pub fn from_table(table: &RawTable, mapping: &ResolvedMapping, report: &mut FileReport) -> UserTable {
        let id_column = mapping.get(Role::UserId).unwrap_or("").to_owned();
        let ids = table.cells(&id_column).unwrap_or_default();
        let columns: Vec<String> = table.column_names().into_iter().filter(|c| *c != id_column).collect();
        let cells: Vec<_> = columns.iter().map(|c| table.cells(c).unwrap_or_default()).collect();
        let bad: HashMap<usize, &BadRow> = table.bad_rows.iter().map(|(r, b)| (*r, b)).collect();
        let mut out = UserTable { columns, rows: HashMap::new() };
        for row in 0..table.rows {
            let display_row = row + 1;
            if let Some(b) = bad.get(&row) {
                record_bad_row(report, display_row, b);
                continue;
            }
            let Some(id) = ids.get(row).and_then(|c| c.as_text()).map(|t| t.into_owned()) else {
                report.record(IssueKind::MissingUserId, display_row, Some(&id_column), "");
                continue;
            };
            if out.rows.contains_key(&id) {
                report.record(IssueKind::DuplicateUser, display_row, Some(&id_column), &id);
                continue;
            }
            let values = cells.iter().map(|c| c.get(row).map(|v| v.to_text()).unwrap_or_default()).collect();
            out.rows.insert(id, values);
            report.rows_kept += 1;
        }
        out
    }
}
