//! Column-at-a-time conversion: a column is dictionary-encoded once (each row's code into
//! its distinct values), and whatever a loader derives from a value (trimmed text, a parsed
//! timestamp, a number, a normalised event type) is computed once per distinct value
//! instead of once per row.
//!
//! Text and integer columns are encoded by value (one hash per row, no allocation); any
//! other type (floats, booleans, dates, lists) keeps one entry per row, so every derivation
//! sees exactly the [`Cell`] the row-by-row conversion saw.

use std::borrow::Cow;

use polars::prelude::*;

use super::table::{Cell, column_cells};

/// The code of a null row.
pub(super) const NULL_CODE: u32 = u32::MAX;

/// One column of a table (or of a slice of it), encoded by distinct value, with a value
/// `T` derived from each distinct cell.
pub(super) struct Encoded<'a, T> {
    /// The column's name.
    pub(super) name: String,
    /// The code of each row ([`NULL_CODE`] for a null); `None` when each row is its own
    /// code (columns not encoded by value).
    codes: Option<Vec<u32>>,
    /// What was derived from each distinct value, by code.
    derived: Vec<T>,
    /// What was derived from a null cell.
    null: T,
    /// The distinct values borrow the table's text.
    _cells: std::marker::PhantomData<Cell<'a>>,
}

impl<'a, T> Encoded<'a, T> {
    /// Encodes `series` and derives `f` from each distinct cell (and from a null).
    pub(super) fn new(name: &str, series: &'a Series, mut f: impl FnMut(&Cell<'a>) -> T) -> Self {
        let (codes, values) = encode(series);
        let derived = values.iter().map(&mut f).collect();
        let null = f(&Cell::Null);
        Encoded { name: name.to_owned(), codes, derived, null, _cells: std::marker::PhantomData }
    }

    /// Number of distinct values (the range of the codes).
    pub(super) fn distinct(&self) -> usize {
        self.derived.len()
    }

    /// The code of row `i` ([`NULL_CODE`] for a null or a row beyond the column).
    pub(super) fn code(&self, i: usize) -> u32 {
        match &self.codes {
            Some(codes) => codes.get(i).copied().unwrap_or(NULL_CODE),
            None if i < self.derived.len() => i as u32,
            None => NULL_CODE,
        }
    }

    /// What was derived from row `i`'s value.
    pub(super) fn get(&self, i: usize) -> &T {
        self.derived_of(self.code(i))
    }

    /// What was derived from the value of code `code`.
    pub(super) fn derived_of(&self, code: u32) -> &T {
        self.derived.get(code as usize).unwrap_or(&self.null)
    }
}

/// The codes of every row of `series` and its distinct cells, in order of first appearance
/// (no codes: one cell per row).
fn encode(series: &Series) -> (Option<Vec<u32>>, Vec<Cell<'_>>) {
    match series.dtype() {
        DataType::String => match series.str() {
            Ok(ca) => {
                let mut index: PlHashMap<&str, u32> = PlHashMap::default();
                let mut values = Vec::new();
                let codes = ca
                    .iter()
                    .map(|v| match v {
                        None => NULL_CODE,
                        Some(s) => *index.entry(s).or_insert_with(|| {
                            values.push(Cell::Str(Cow::Borrowed(s)));
                            (values.len() - 1) as u32
                        }),
                    })
                    .collect();
                (Some(codes), values)
            }
            Err(_) => (Some(vec![NULL_CODE; series.len()]), Vec::new()),
        },
        dt if dt.is_integer() => match series.cast(&DataType::Int64) {
            Ok(s) => match s.i64() {
                Ok(ca) => {
                    let mut index: PlHashMap<i64, u32> = PlHashMap::default();
                    let mut values = Vec::new();
                    let codes = ca
                        .iter()
                        .map(|v| match v {
                            None => NULL_CODE,
                            Some(x) => *index.entry(x).or_insert_with(|| {
                                values.push(Cell::Int(x));
                                (values.len() - 1) as u32
                            }),
                        })
                        .collect();
                    (Some(codes), values)
                }
                Err(_) => (Some(vec![NULL_CODE; series.len()]), Vec::new()),
            },
            Err(_) => (Some(vec![NULL_CODE; series.len()]), Vec::new()),
        },
        _ => (None, column_cells(series)),
    }
}

/// A cell's text with surrounding whitespace removed, borrowing the table's text where it
/// can; `None` for null or blank (the same text as [`Cell::as_text`]).
pub(super) fn text_of<'a>(cell: &Cell<'a>) -> Option<Cow<'a, str>> {
    match cell {
        Cell::Str(Cow::Borrowed(s)) => {
            let t = s.trim();
            (!t.is_empty()).then_some(Cow::Borrowed(t))
        }
        other => other.as_text().map(|t| Cow::Owned(t.into_owned())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_columns_share_codes_and_nulls_read_as_null() {
        let s = Series::new("c".into(), [Some(" a "), None, Some("b"), Some(" a ")]);
        let e = Encoded::new("c", &s, |c| text_of(c).map(|t| t.into_owned()));
        assert_eq!(e.distinct(), 2);
        assert_eq!((e.code(0), e.code(1), e.code(2), e.code(3)), (0, NULL_CODE, 1, 0));
        assert_eq!(e.get(3).as_deref(), Some("a"));
        assert_eq!(e.get(1), &None);
        assert_eq!(e.get(9), &None);
    }

    #[test]
    fn integers_are_encoded_by_value_and_floats_row_by_row() {
        let s = Series::new("i".into(), [Some(7i32), Some(7), None, Some(-1)]);
        let e = Encoded::new("i", &s, |c| c.clone());
        assert_eq!(e.distinct(), 2);
        assert_eq!(e.get(1), &Cell::Int(7));
        assert_eq!(e.get(2), &Cell::Null);
        assert_eq!(e.get(3), &Cell::Int(-1));
        let f = Series::new("f".into(), [1.5f64, 1.5]);
        let e = Encoded::new("f", &f, |c| text_of(c).map(|t| t.into_owned()));
        assert_eq!(e.distinct(), 2);
        assert_eq!((e.code(1), e.code(2)), (1, NULL_CODE));
        assert_eq!(e.get(1).as_deref(), Some("1.5"));
    }
}
