//! The item catalogue.

use std::collections::{BTreeMap, HashMap};

use super::intern::Interner;
use super::mapping::{ResolvedMapping, Role};
use super::report::{FileReport, IssueKind};
use super::table::{BadRow, Cell, LIST_SEPARATOR, RawTable};
use super::text::{
    PriceError, category_labels, first_of_list, join_list_text, limit_text, parse_price, strip_html,
    title_from_description,
};
use super::timestamp::{from_unix_number, parse_timestamp};

/// Items and their attributes, column by column. Index `i` is the item with id
/// `ids.name(i)`. Empty strings and NaN mean "unknown".
#[derive(Debug, Clone, Default)]
pub struct Catalogue {
    /// Item ids.
    pub ids: Interner,
    /// Titles (HTML stripped).
    pub titles: Vec<String>,
    /// Long descriptions.
    pub descriptions: Vec<String>,
    /// Category as displayed (`A > B`, `Action|Comedy`).
    pub categories: Vec<String>,
    /// Category labels of each item (indices into `category_names`).
    pub category_labels: Vec<Vec<u32>>,
    /// Distinct category labels.
    pub category_names: Interner,
    /// Brands.
    pub brands: Vec<String>,
    /// Prices (NaN when unknown).
    pub prices: Vec<f32>,
    /// Image paths or URLs.
    pub images: Vec<String>,
    /// Creation time (unix seconds), when known.
    pub created_at: Vec<Option<i64>>,
    /// Stock level (NaN when unknown).
    pub stock: Vec<f32>,
    /// Margin (NaN when unknown).
    pub margin: Vec<f32>,
    /// Other text columns of the catalogue file, by column name (for the text template).
    pub extra_text: BTreeMap<String, Vec<String>>,
    /// Per item: the lowest index of its duplicate group (same cleaned title and brand),
    /// set by [`Catalogue::mark_duplicates`]; empty until then.
    pub duplicate_of: Vec<u32>,
}

/// The fields of one catalogue row, for duplicate detection.
#[derive(Debug, Clone, PartialEq, Default)]
struct ItemFields {
    title: String,
    description: String,
    category: String,
    brand: String,
    price: Option<f32>,
    image: String,
    created_at: Option<i64>,
    stock: Option<f32>,
    margin: Option<f32>,
}

/// How many titles the loader changed, for the catalogue file's notices.
#[derive(Debug, Default)]
struct TitleCleaning {
    /// Titles whose text changed (HTML tags or entities, extra whitespace).
    cleaned: usize,
    /// Empty titles replaced by the start of the description.
    replaced: usize,
}

impl TitleCleaning {
    fn notice(&self) -> Option<String> {
        (self.cleaned + self.replaced > 0).then(|| {
            let mut text = format!(
                "titles: {} cleaned (HTML tags or entities removed, or runs of whitespace collapsed)",
                self.cleaned
            );
            if self.replaced > 0 {
                text.push_str(&format!(", {} empty replaced by the start of the description", self.replaced));
            }
            text
        })
    }
}

impl Catalogue {
    /// Number of items.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Whether the catalogue has no items.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// Whether any item has a category.
    pub fn has_categories(&self) -> bool {
        !self.category_names.is_empty()
    }

    /// Whether any item has a price.
    pub fn has_prices(&self) -> bool {
        self.prices.iter().any(|p| p.is_finite())
    }

    /// The title of item `i` (its id when it has none).
    pub fn title(&self, i: u32) -> &str {
        match self.titles.get(i as usize) {
            Some(t) if !t.is_empty() => t,
            _ => self.ids.name(i),
        }
    }

    /// The price of item `i`, if known.
    pub fn price(&self, i: u32) -> Option<f32> {
        self.prices.get(i as usize).copied().filter(|p| p.is_finite())
    }

    /// The top-level category of item `i` (first segment of its first label).
    pub fn top_category(&self, i: u32) -> Option<&str> {
        let label = *self.category_labels.get(i as usize)?.first()?;
        self.category_names.name(label).split(" > ").next()
    }

    /// A text field by name: `title`, `description`, `category`, `brand`, or any extra
    /// text column of the catalogue file. `None` when the field does not exist.
    pub fn text_field(&self, field: &str, i: u32) -> Option<&str> {
        let column = match field {
            "title" => &self.titles,
            "description" => &self.descriptions,
            "category" => &self.categories,
            "brand" => &self.brands,
            other => self.extra_text.get(other)?,
        };
        column.get(i as usize).map(String::as_str).filter(|s| !s.is_empty())
    }

    /// Names of every text field an embedding template can use.
    pub fn text_field_names(&self) -> Vec<String> {
        let mut names: Vec<String> =
            ["title", "description", "category", "brand"].iter().map(|s| (*s).to_owned()).collect();
        // An extra column named like a role (a column unmapped from it) is that field once.
        for extra in self.extra_text.keys() {
            if !names.contains(extra) {
                names.push(extra.clone());
            }
        }
        names
    }

    fn push(&mut self, id: &str, f: ItemFields) -> u32 {
        let index = self.ids.intern(id);
        let labels: Vec<u32> = category_labels(&f.category).iter().map(|l| self.category_names.intern(l)).collect();
        let display = if f.category.contains(LIST_SEPARATOR) {
            labels.iter().map(|&l| self.category_names.name(l).to_owned()).collect::<Vec<_>>().join(" | ")
        } else {
            f.category.clone()
        };
        self.titles.push(f.title);
        self.descriptions.push(f.description);
        self.categories.push(display);
        self.category_labels.push(labels);
        self.brands.push(f.brand);
        self.prices.push(f.price.unwrap_or(f32::NAN));
        self.images.push(f.image);
        self.created_at.push(f.created_at);
        self.stock.push(f.stock.unwrap_or(f32::NAN));
        self.margin.push(f.margin.unwrap_or(f32::NAN));
        for column in self.extra_text.values_mut() {
            column.push(String::new());
        }
        index
    }

    /// Builds the catalogue from a catalogue file, recording every dropped row and
    /// ignored value in `report`.
    pub fn from_table(table: &RawTable, mapping: &ResolvedMapping, report: &mut FileReport) -> Catalogue {
        Self::new_rows_from_table(table, mapping, report, &Interner::new()).0
    }

    /// Builds the items of `table` (later rows of a catalogue file, read with the same
    /// mapping) that `known` (the loaded catalogue's ids) lacks, recording dropped rows and
    /// ignored values in `report` as [`Self::from_table`] does. Rows naming a known item are
    /// not applied; their row numbers (1-based, as in `table`) are returned, so that the
    /// caller can load the file again to take such changes in.
    pub fn new_rows_from_table(
        table: &RawTable,
        mapping: &ResolvedMapping,
        report: &mut FileReport,
        known: &Interner,
    ) -> (Catalogue, Vec<usize>) {
        let mut known_rows = Vec::new();
        let col = |role: Role| mapping.get(role).and_then(|c| table.cells(c).map(|cells| (c.to_owned(), cells)));
        let ids = col(Role::ItemId);
        let roles = RoleCells {
            title: col(Role::Title),
            description: col(Role::Description),
            category: col(Role::Category),
            brand: col(Role::Brand),
            price: col(Role::Price),
            image: col(Role::Image),
            created_at: col(Role::CreatedAt),
            stock: col(Role::Stock),
            margin: col(Role::Margin),
        };
        let extra_cells = extra_text_cells(table, mapping);
        let mut cat = Catalogue::default();
        for (name, _) in &extra_cells {
            cat.extra_text.insert(name.clone(), Vec::new());
        }
        let bad: HashMap<usize, &BadRow> = table.bad_rows.iter().map(|(r, b)| (*r, b)).collect();
        let mut first_fields: HashMap<u32, ItemFields> = HashMap::new();
        let mut titles = TitleCleaning::default();
        let id_column = ids.as_ref().map(|(c, _)| c.clone());
        for row in 0..table.rows {
            let display_row = row + 1;
            if let Some(b) = bad.get(&row) {
                record_bad_row(report, display_row, b);
                continue;
            }
            let Some(id) = cell(&ids, row).and_then(|c| c.as_text()) else {
                report.record(IssueKind::MissingItemId, display_row, id_column.as_deref(), "");
                continue;
            };
            if known.get(&id).is_some() {
                known_rows.push(display_row);
                continue;
            }
            let mut fields = roles.fields(row, display_row, report, &mut titles);
            if let Some(existing) = cat.ids.get(&id) {
                let same = first_fields.get(&existing).is_some_and(|f| *f == fields);
                let kind = if same { IssueKind::DuplicateItemIdentical } else { IssueKind::DuplicateItemConflicting };
                report.record(kind, display_row, id_column.as_deref(), &id);
                continue;
            }
            if fields.title.is_empty() {
                report.record(IssueKind::MissingTitle, display_row, mapping.get(Role::Title), &id);
                if !fields.description.is_empty() {
                    fields.title = title_from_description(&fields.description);
                    titles.replaced += 1;
                }
            }
            let index = cat.push(&id, fields.clone());
            first_fields.insert(index, fields);
            cat.set_extra_text(&extra_cells, (row, display_row), &id, report);
            report.rows_kept += 1;
        }
        report.notices.extend(titles.notice());
        (cat, known_rows)
    }

    /// Appends the items of `new` whose ids this catalogue lacks, after the existing ones
    /// (their category labels interned here, extra text columns joined by name), and marks
    /// duplicates again. Returns the indices the new items got.
    pub fn append_items(&mut self, new: &Catalogue) -> Vec<u32> {
        let mut added = Vec::new();
        for name in new.extra_text.keys() {
            let len = self.len();
            self.extra_text.entry(name.clone()).or_insert_with(|| vec![String::new(); len]);
        }
        for i in 0..new.len() as u32 {
            let id = new.ids.name(i);
            if self.ids.get(id).is_some() {
                continue;
            }
            let at = i as usize;
            let text = |column: &[String]| column.get(at).cloned().unwrap_or_default();
            let index = self.ids.intern(id);
            let labels = new.category_labels.get(at).map_or(&[][..], Vec::as_slice);
            let labels: Vec<u32> =
                labels.iter().map(|&l| self.category_names.intern(new.category_names.name(l))).collect();
            self.titles.push(text(&new.titles));
            self.descriptions.push(text(&new.descriptions));
            self.categories.push(text(&new.categories));
            self.category_labels.push(labels);
            self.brands.push(text(&new.brands));
            self.prices.push(new.prices.get(at).copied().unwrap_or(f32::NAN));
            self.images.push(text(&new.images));
            self.created_at.push(new.created_at.get(at).copied().flatten());
            self.stock.push(new.stock.get(at).copied().unwrap_or(f32::NAN));
            self.margin.push(new.margin.get(at).copied().unwrap_or(f32::NAN));
            for (name, column) in &mut self.extra_text {
                column.push(new.extra_text.get(name).and_then(|c| c.get(at)).cloned().unwrap_or_default());
            }
            added.push(index);
        }
        if !added.is_empty() && !self.duplicate_of.is_empty() {
            self.mark_duplicates();
        }
        added
    }

    /// Fills the extra text columns of the item just pushed from row `row` (`display_row`
    /// in the file) of `extra_cells`, recording truncated values.
    fn set_extra_text(
        &mut self,
        extra_cells: &[(String, Vec<Cell<'_>>)],
        (row, display_row): (usize, usize),
        id: &str,
        report: &mut FileReport,
    ) {
        for (name, cells) in extra_cells {
            let value =
                cells.get(row).and_then(|c| c.as_text()).map(|t| strip_html(&join_list_text(&t))).unwrap_or_default();
            let (value, cut) = limit_text(value);
            if cut {
                report.record(IssueKind::TruncatedText, display_row, Some(name), id);
            }
            if let Some(slot) = self.extra_text.get_mut(name).and_then(|c| c.last_mut()) {
                *slot = value;
            }
        }
    }

    /// Builds a catalogue from the item columns of a behaviour file (when no catalogue
    /// file is given): the most frequent title per item and the median positive price.
    pub fn from_behaviour_items(
        items: &Interner,
        titles: &[HashMap<String, u32>],
        prices: &[Vec<f32>],
        categories: &[String],
        brands: &[String],
    ) -> Catalogue {
        let mut cat = Catalogue::default();
        for i in 0..items.len() {
            let title = titles
                .get(i)
                .and_then(|m| {
                    let mut v: Vec<(&String, &u32)> = m.iter().collect();
                    v.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
                    v.first().map(|(t, _)| (*t).clone())
                })
                .unwrap_or_default();
            let price = prices.get(i).and_then(|p| median(p));
            let fields = ItemFields {
                title,
                category: categories.get(i).cloned().unwrap_or_default(),
                brand: brands.get(i).cloned().unwrap_or_default(),
                price,
                ..ItemFields::default()
            };
            cat.push(items.name(i as u32), fields);
        }
        cat
    }
}

/// Median of the positive finite values.
pub fn median(values: &[f32]) -> Option<f32> {
    let mut v: Vec<f32> = values.iter().copied().filter(|p| p.is_finite() && *p > 0.0).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f32::total_cmp);
    let mid = v.len() / 2;
    if v.len() % 2 == 1 { v.get(mid).copied() } else { Some((v.get(mid - 1).copied()? + v.get(mid).copied()?) / 2.0) }
}

/// The extra text columns: string columns no role uses, with their cells.
fn extra_text_cells<'t>(table: &'t RawTable, mapping: &ResolvedMapping) -> Vec<(String, Vec<Cell<'t>>)> {
    let used: Vec<&str> = mapping.columns.values().map(String::as_str).collect();
    table
        .column_names()
        .into_iter()
        .filter(|c| !used.contains(&c.as_str()))
        .filter(|c| {
            table.frame.column(c).map(|s| matches!(s.dtype(), polars::prelude::DataType::String)).unwrap_or(false)
        })
        .filter_map(|c| table.cells(&c).map(|cells| (c, cells)))
        .collect()
}

/// Counts a row the reader could not split or parse.
pub(crate) fn record_bad_row(report: &mut FileReport, display_row: usize, bad: &BadRow) {
    match bad {
        BadRow::Ragged { fields, expected } => {
            report.record(IssueKind::RaggedRow, display_row, None, &format!("{fields} fields, header has {expected}"))
        }
        BadRow::Json { detail } => report.record(IssueKind::MalformedJsonLine, display_row, None, detail),
    }
}

type NamedCells<'a> = Option<(String, Vec<Cell<'a>>)>;

struct RoleCells<'a> {
    title: NamedCells<'a>,
    description: NamedCells<'a>,
    category: NamedCells<'a>,
    brand: NamedCells<'a>,
    price: NamedCells<'a>,
    image: NamedCells<'a>,
    created_at: NamedCells<'a>,
    stock: NamedCells<'a>,
    margin: NamedCells<'a>,
}

fn cell<'c, 'a>(c: &'c NamedCells<'a>, row: usize) -> Option<&'c Cell<'a>> {
    c.as_ref().and_then(|(_, cells)| cells.get(row))
}

fn name_of<'c>(c: &'c NamedCells<'_>) -> Option<&'c str> {
    c.as_ref().map(|(n, _)| n.as_str())
}

fn text_of(c: &NamedCells<'_>, row: usize) -> String {
    cell(c, row).and_then(|c| c.as_text()).map(|t| t.into_owned()).unwrap_or_default()
}

impl RoleCells<'_> {
    fn fields(
        &self,
        row: usize,
        display_row: usize,
        report: &mut FileReport,
        titles: &mut TitleCleaning,
    ) -> ItemFields {
        let raw_title = join_list_text(&text_of(&self.title, row));
        let mut text = |c: &NamedCells<'_>, clean: fn(&str) -> String| -> String {
            let raw = text_of(c, row);
            let (value, cut) = limit_text(clean(&raw));
            if cut {
                let name = c.as_ref().map(|(n, _)| n.as_str());
                report.record(IssueKind::TruncatedText, display_row, name, &raw);
            }
            value
        };
        let title = text(&self.title, |s| strip_html(&join_list_text(s)));
        if !title.is_empty() && title != raw_title.trim() {
            titles.cleaned += 1;
        }
        let description = text(&self.description, |s| strip_html(&join_list_text(s)));
        let brand = text(&self.brand, |s| strip_html(&join_list_text(s)));
        let category = text_of(&self.category, row);
        let image = first_of_list(&text_of(&self.image, row)).to_owned();
        let price = self.number(&self.price, row, display_row, report, true);
        let stock = self.number(&self.stock, row, display_row, report, false);
        let margin = self.number(&self.margin, row, display_row, report, false);
        let created_at = self.created_at(row, display_row, report);
        ItemFields { title, description, category, brand, price, image, created_at, stock, margin }
    }

    /// The creation time in unix seconds, if any; unparseable text is recorded and ignored.
    fn created_at(&self, row: usize, display_row: usize, report: &mut FileReport) -> Option<i64> {
        match cell(&self.created_at, row) {
            None | Some(Cell::Null) => None,
            Some(Cell::Seconds(s)) => Some(*s),
            Some(Cell::Int(v)) => from_unix_number(*v as f64).ok(),
            Some(Cell::Float(v)) => from_unix_number(*v).ok(),
            Some(c) => {
                let t = c.as_text().map(|t| t.into_owned()).unwrap_or_default();
                if t.is_empty() {
                    return None;
                }
                match parse_timestamp(&t) {
                    Ok(v) => Some(v),
                    Err(_) => {
                        report.record(IssueKind::UnparseableCreatedAt, display_row, name_of(&self.created_at), &t);
                        None
                    }
                }
            }
        }
    }

    /// A number (price, stock, margin), if any. Prices must not be negative; a price that
    /// is negative or not a number is recorded and ignored.
    fn number(
        &self,
        c: &NamedCells<'_>,
        row: usize,
        display_row: usize,
        report: &mut FileReport,
        is_price: bool,
    ) -> Option<f32> {
        let name = c.as_ref().map(|(n, _)| n.as_str());
        let value = match cell(c, row)? {
            Cell::Null => return None,
            Cell::Int(v) => Ok(*v as f32),
            Cell::Float(v) if v.is_finite() => Ok(*v as f32),
            Cell::Float(_) => Err(PriceError::NotNumeric),
            other => {
                let t = other.as_text()?;
                parse_price(&t)
            }
        };
        match value {
            Ok(v) if is_price && v < 0.0 => {
                report.record(IssueKind::NegativePrice, display_row, name, &v.to_string());
                None
            }
            Ok(v) => Some(v),
            Err(e) if is_price => {
                let raw = cell(c, row).map(Cell::to_text).unwrap_or_default();
                let kind = match e {
                    PriceError::Negative => IssueKind::NegativePrice,
                    PriceError::NotNumeric => IssueKind::NonNumericPrice,
                };
                report.record(kind, display_row, name, &raw);
                None
            }
            Err(_) => None,
        }
    }
}
