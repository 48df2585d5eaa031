//! Column-level reading fixes applied once a file's roles are known, before the tables are
//! built: decisions that need a whole column rather than one value.
//!
//! - **Decimal commas** in numeric columns (price, rating, quantity, stock, margin): `1,50`
//!   and `1.234,56` are read as 1.5 and 1234.56 when the file is `;` separated, or when the
//!   column's values consistently use `,` as the decimal mark (`.` as thousands separator);
//!   otherwise the comma stays a thousands separator (`1,025.50`).
//! - **Compact dates** in time columns (timestamp, created at): when every value is
//!   `YYYYMMDD` (or every value `YYYYMMDDHHMMSS`) forming a valid date between 1900 and 2100,
//!   the column is read as dates rather than as unix seconds in 1970.
//!
//! Each fix replaces the column in the table and adds a notice naming the column.

use std::borrow::Cow;

use polars::prelude::*;

use super::mapping::{ResolvedMapping, Role};
use super::table::{Cell, RawTable};
use super::timestamp::compact_date;

/// Roles whose values are numbers that may be written with decimal commas.
const NUMERIC_ROLES: [Role; 5] = [Role::Price, Role::Rating, Role::Quantity, Role::Stock, Role::Margin];
/// Roles whose values are instants.
const TIME_ROLES: [Role; 2] = [Role::Timestamp, Role::CreatedAt];

/// Applies the column-level fixes to the mapped columns of `table`; returns the notices.
pub(crate) fn normalise_columns(table: &mut RawTable, mapping: &ResolvedMapping) -> Vec<String> {
    let semicolon = table.separator == Some(b';');
    let mut notices = Vec::new();
    for role in NUMERIC_ROLES {
        let Some(name) = mapping.get(role) else { continue };
        let Ok(column) = table.frame.column(name) else { continue };
        let commas = match column.as_materialized_series().str() {
            // Only whether some value has a comma or reads one way matters: each distinct
            // text is looked at once.
            Ok(ca) => {
                let mut seen: PlHashSet<&str> = PlHashSet::default();
                let distinct = ca.iter().flatten().filter(|s| seen.insert(s)).map(|s| Cell::Str(Cow::Borrowed(s)));
                uses_decimal_commas(distinct, semicolon)
            }
            Err(_) => table.cells(name).is_some_and(|cells| uses_decimal_commas(cells.into_iter(), semicolon)),
        };
        if !commas {
            continue;
        }
        let Some(cells) = table.cells(name) else { continue };
        let fixed: Vec<Option<String>> =
            cells.iter().map(|c| c.as_text().map(|t| decimal_comma_to_point(&t))).collect();
        let series = Series::new(name.into(), fixed);
        if table.frame.replace(name, series.into()).is_ok() {
            notices.push(format!("{name}: decimal commas read as decimal points"));
        }
    }
    for role in TIME_ROLES {
        let Some(name) = mapping.get(role) else { continue };
        let Ok(column) = table.frame.column(name) else { continue };
        let Some((seconds, digits)) = compact_dates(column.as_materialized_series()) else { continue };
        let millis: Vec<Option<i64>> = seconds.iter().map(|s| s.map(|v| v.saturating_mul(1000))).collect();
        let series = Series::new(name.into(), millis).cast(&DataType::Datetime(TimeUnit::Milliseconds, None));
        if let Ok(series) = series
            && table.frame.replace(name, series.into()).is_ok()
        {
            let layout = if digits == 8 { "YYYYMMDD" } else { "YYYYMMDDHHMMSS" };
            notices.push(format!("{name}: {digits}-digit values read as {layout} dates, not unix seconds"));
        }
    }
    notices
}

/// How one number written as text uses `,` and `.`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mark {
    /// `,` can only be a decimal mark: `1,5`, `12,50`, `1.234,56`.
    DecimalComma,
    /// `,` can only be a thousands separator, or `.` only a decimal point: `1,025.50`,
    /// `1,000,000`, `2.5`.
    DecimalPoint,
    /// Either reading fits (`1,500`, `1.500`), or no separator at all.
    Ambiguous,
}

/// Whether the text cells of a column use decimal commas: some value has a comma and no
/// value reads only with a decimal point; outside `;` files at least one value must be
/// unambiguous (`1,50`, `1.234,56`).
fn uses_decimal_commas<'a>(cells: impl Iterator<Item = Cell<'a>>, semicolon: bool) -> bool {
    let (mut comma, mut point, mut with_comma) = (0usize, 0usize, 0usize);
    for c in cells {
        let Cell::Str(s) = c else { continue };
        for token in number_tokens(&s) {
            with_comma += usize::from(token.contains(','));
            match classify(token) {
                Mark::DecimalComma => comma += 1,
                Mark::DecimalPoint => point += 1,
                Mark::Ambiguous => {}
            }
        }
    }
    point == 0 && with_comma > 0 && (comma > 0 || semicolon)
}

/// The runs of digits, `,` and `.` in `s` that contain a digit.
fn number_tokens(s: &str) -> impl Iterator<Item = &str> {
    s.split(|c: char| !(c.is_ascii_digit() || c == ',' || c == '.')).filter(|t| t.bytes().any(|b| b.is_ascii_digit()))
}

fn classify(token: &str) -> Mark {
    let token = token.trim_matches(|c| c == ',' || c == '.');
    let groups_of_three = |s: &str, sep: char| {
        let mut parts = s.split(sep);
        let first = parts.next().unwrap_or_default();
        (1..=3).contains(&first.len()) && parts.all(|p| p.len() == 3)
    };
    match (token.rfind(','), token.rfind('.')) {
        (None, None) => Mark::Ambiguous,
        (Some(c), Some(p)) if c > p => {
            // `1.234,56`: dots before the comma group thousands.
            let int = token.get(..c).unwrap_or_default();
            if groups_of_three(int, '.') && !token.get(c + 1..).unwrap_or_default().contains(['.', ',']) {
                Mark::DecimalComma
            } else {
                Mark::Ambiguous
            }
        }
        (Some(_), Some(_)) => Mark::DecimalPoint,
        (Some(c), None) => {
            let frac = token.get(c + 1..).unwrap_or_default();
            let int = token.get(..c).unwrap_or_default();
            if int.contains(',') {
                // `1,000,000`: several commas can only group thousands.
                if groups_of_three(token, ',') { Mark::DecimalPoint } else { Mark::Ambiguous }
            } else if frac.len() == 3 && (1..=3).contains(&int.len()) {
                Mark::Ambiguous
            } else {
                Mark::DecimalComma
            }
        }
        (None, Some(p)) => {
            let int = token.get(..p).unwrap_or_default();
            if int.contains('.') || (token.len() - p - 1 == 3 && (1..=3).contains(&int.len())) {
                Mark::Ambiguous
            } else {
                Mark::DecimalPoint
            }
        }
    }
}

/// Rewrites a decimal-comma number as a decimal-point one: `1.234,56` → `1234.56`,
/// `€1,50` → `€1.50`; a value with dots and no comma has thousands dots (`1.234` → `1234`).
fn decimal_comma_to_point(text: &str) -> String {
    text.chars().filter(|c| *c != '.').map(|c| if c == ',' { '.' } else { c }).collect()
}

/// The unix seconds of every value of a compact-date column, and the digit count (8 or
/// 14): `None` unless every non-blank value is a compact date of the same length (typed
/// dates, floats and booleans never are).
fn compact_dates(series: &Series) -> Option<(Vec<Option<i64>>, usize)> {
    let mut digits = None;
    let mut out = Vec::with_capacity(series.len());
    let mut push = |text: Option<&str>| -> Option<()> {
        let Some(text) = text.map(str::trim).filter(|t| !t.is_empty()) else {
            out.push(None);
            return Some(());
        };
        if *digits.get_or_insert(text.len()) != text.len() {
            return None;
        }
        out.push(Some(compact_date(text)?));
        Some(())
    };
    match series.dtype() {
        DataType::String => {
            for v in series.str().ok()?.iter() {
                push(v)?;
            }
        }
        dt if dt.is_integer() => {
            let ints = series.cast(&DataType::Int64).ok()?;
            for v in ints.i64().ok()?.iter() {
                push(v.map(|x| x.to_string()).as_deref())?;
            }
        }
        _ => {
            for c in super::table::column_cells(series) {
                match c {
                    Cell::Null => push(None)?,
                    Cell::Int(v) => push(Some(&v.to_string()))?,
                    Cell::Str(s) => push(Some(&s))?,
                    _ => return None,
                }
            }
        }
    }
    digits.map(|d| (out, d))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cells(values: &[&'static str]) -> impl Iterator<Item = Cell<'static>> {
        values.iter().map(|v| Cell::Str(std::borrow::Cow::Borrowed(*v))).collect::<Vec<_>>().into_iter()
    }

    #[test]
    fn decimal_comma_detection() {
        assert!(uses_decimal_commas(cells(&["1,50", "2,00"]), false));
        assert!(uses_decimal_commas(cells(&["1.234,56", "7"]), false));
        assert!(uses_decimal_commas(cells(&["1,500"]), true));
        assert!(!uses_decimal_commas(cells(&["1,500"]), false));
        assert!(!uses_decimal_commas(cells(&["$1,025.50", "1,50"]), true));
        assert!(!uses_decimal_commas(cells(&["2.5", "3"]), true));
        assert!(!uses_decimal_commas(cells(&["1,000,000"]), true));
        assert_eq!(decimal_comma_to_point("€1.234,56"), "€1234.56");
    }
}
