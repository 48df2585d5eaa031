//! Column roles and the mapping from roles to column names.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::error::DataError;
use super::report::TableKind;

/// What a column means to RecFuse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Item identifier (catalogue and behaviour).
    ItemId,
    /// User identifier (behaviour and users).
    UserId,
    /// Event time.
    Timestamp,
    /// Event type (view, click, cart, purchase, cancel, … or free text).
    EventType,
    /// Explicit rating.
    Rating,
    /// Quantity of an order line.
    Quantity,
    /// Invoice / order number (Online Retail: a leading `C` marks a cancellation).
    Invoice,
    /// Sales channel (web, app, store).
    Channel,
    /// Session identifier.
    SessionId,
    /// Item title.
    Title,
    /// Long item description.
    Description,
    /// Category (hierarchy `A > B > C`, `A|B`, or a JSON list).
    Category,
    /// Brand.
    Brand,
    /// Price.
    Price,
    /// Image path or URL.
    Image,
    /// Item creation / first availability date.
    CreatedAt,
    /// Stock level.
    Stock,
    /// Margin.
    Margin,
}

impl Role {
    /// Every role.
    pub const ALL: [Role; 18] = [
        Role::ItemId,
        Role::UserId,
        Role::Timestamp,
        Role::EventType,
        Role::Rating,
        Role::Quantity,
        Role::Invoice,
        Role::Channel,
        Role::SessionId,
        Role::Title,
        Role::Description,
        Role::Category,
        Role::Brand,
        Role::Price,
        Role::Image,
        Role::CreatedAt,
        Role::Stock,
        Role::Margin,
    ];

    /// Stable id (`item_id`, `user_id`, …) used by `--map` and in sessions.
    pub fn id(self) -> &'static str {
        match self {
            Role::ItemId => "item_id",
            Role::UserId => "user_id",
            Role::Timestamp => "timestamp",
            Role::EventType => "event_type",
            Role::Rating => "rating",
            Role::Quantity => "quantity",
            Role::Invoice => "invoice",
            Role::Channel => "channel",
            Role::SessionId => "session_id",
            Role::Title => "title",
            Role::Description => "description",
            Role::Category => "category",
            Role::Brand => "brand",
            Role::Price => "price",
            Role::Image => "image",
            Role::CreatedAt => "created_at",
            Role::Stock => "stock",
            Role::Margin => "margin",
        }
    }

    /// Parses a role id.
    pub fn from_id(id: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.id() == id)
    }

    /// The roles a table of this kind can have, required ones first.
    pub fn for_table(table: TableKind) -> &'static [Role] {
        match table {
            TableKind::Catalogue => &[
                Role::ItemId,
                Role::Title,
                Role::Description,
                Role::Category,
                Role::Brand,
                Role::Price,
                Role::Image,
                Role::CreatedAt,
                Role::Stock,
                Role::Margin,
            ],
            TableKind::Behaviour => &[
                Role::UserId,
                Role::ItemId,
                Role::Timestamp,
                Role::EventType,
                Role::Rating,
                Role::Quantity,
                Role::Invoice,
                Role::Channel,
                Role::SessionId,
                Role::Title,
                Role::Description,
                Role::Category,
                Role::Brand,
                Role::Price,
            ],
            TableKind::Users => &[Role::UserId],
        }
    }

    /// Common spellings, compared after lower-casing and removing `_`, `-`, spaces and a
    /// RecBole `:type` suffix. Earlier spellings win.
    pub fn spellings(self) -> &'static [&'static str] {
        match self {
            Role::ItemId => &[
                "itemid",
                "item",
                "productid",
                "product",
                "sku",
                "asin",
                "stockcode",
                "movieid",
                "articleid",
                "iid",
                "parentasin",
                "goodsid",
                "skuid",
                "id",
            ],
            Role::UserId => &[
                "userid",
                "user",
                "customerid",
                "customer",
                "reviewerid",
                "visitorid",
                "householdkey",
                "householdid",
                "clientid",
                "uid",
                "memberid",
                "shopperid",
                "buyerid",
            ],
            Role::Timestamp => &[
                "timestamp",
                "ts",
                "time",
                "datetime",
                "eventtime",
                "invoicedate",
                "unixreviewtime",
                "date",
                "createdat",
                "orderdate",
                "transactiondate",
                "transactiontimestamp",
                "tdat",
                "reviewtime",
            ],
            Role::EventType => &[
                "eventtype",
                "event",
                "type",
                "action",
                "behavior",
                "behaviour",
                "interaction",
                "interactiontype",
                "actiontype",
                "eventname",
            ],
            Role::Rating => &["rating", "overall", "score", "stars", "rate"],
            Role::Quantity => &["quantity", "qty", "count", "units"],
            Role::Invoice => &["invoiceno", "invoice", "invoiceid", "orderid", "basketid", "orderno"],
            Role::Channel => &["channel", "platform", "device", "saleschannel", "saleschannelid"],
            Role::SessionId => &["sessionid", "session"],
            Role::Title => {
                &["title", "name", "productname", "prodname", "producttitle", "itemname", "movietitle", "itemtitle"]
            }
            Role::Description => {
                &["description", "desc", "detaildesc", "details", "productdescription", "longdescription"]
            }
            Role::Category => &[
                "category",
                "categories",
                "categoryname",
                "genres",
                "genre",
                "producttypename",
                "producttype",
                "maincat",
                "department",
                "productgroupname",
                "commoditydesc",
                "categorycode",
            ],
            Role::Brand => &["brand", "brandname", "manufacturer", "maker"],
            Role::Price => &["price", "unitprice", "medianunitpricegbp", "listprice", "saleprice"],
            Role::Image => {
                &["image", "imageurl", "imurl", "img", "picture", "thumbnail", "imageurlhighres", "imagepath"]
            }
            Role::CreatedAt => &["createdat", "created", "releasedate", "firstavailable", "dateadded", "launchdate"],
            Role::Stock => &["stock", "inventory", "stocklevel", "instock"],
            Role::Margin => &["margin", "profitmargin"],
        }
    }
}

/// Normalises a column name for matching: lower case, no `_ - space`, no `:type` suffix.
pub fn normalise_column_name(name: &str) -> String {
    let base = name.split(':').next().unwrap_or(name);
    base.chars().filter(|c| c.is_alphanumeric()).flat_map(char::to_lowercase).collect()
}

/// Role → column name, for one table. Overrides win over the automatic choice.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ColumnMapping {
    /// Role id → column name chosen by the user.
    pub overrides: BTreeMap<Role, String>,
}

impl ColumnMapping {
    /// Parses `--map role=column` arguments.
    pub fn from_args(args: &[String]) -> Result<Self, DataError> {
        let mut overrides = BTreeMap::new();
        let roles: Vec<&str> = Role::ALL.iter().map(|r| r.id()).collect();
        for arg in args {
            let Some((role, column)) = arg.split_once('=') else {
                return Err(DataError::BadMappingArg(arg.clone(), roles.join(", ")));
            };
            let role =
                Role::from_id(role.trim()).ok_or_else(|| DataError::BadMappingArg(arg.clone(), roles.join(", ")))?;
            overrides.insert(role, column.trim().to_owned());
        }
        Ok(Self { overrides })
    }

    /// Resolves every role of `table` against the file's `columns`.
    pub fn resolve(&self, table: TableKind, columns: &[String]) -> ResolvedMapping {
        let mut used: BTreeMap<Role, String> = BTreeMap::new();
        let mut taken: Vec<&str> = Vec::new();
        // Overrides first (validated by the caller against `columns`).
        for (role, column) in &self.overrides {
            if Role::for_table(table).contains(role) && !column.is_empty() {
                used.insert(*role, column.clone());
                taken.push(column.as_str());
            }
        }
        let normalised: Vec<String> = columns.iter().map(|c| normalise_column_name(c)).collect();
        for &role in Role::for_table(table) {
            if used.contains_key(&role) || self.overrides.get(&role).is_some_and(String::is_empty) {
                continue;
            }
            // A column named exactly as the role (`item_id`) wins over spellings that only
            // match after normalising (`Item-ID`).
            let exact = columns.iter().find(|c| c.as_str() == role.id() && !taken.contains(&c.as_str())).cloned();
            let found = exact.or_else(|| {
                role.spellings().iter().find_map(|spelling| {
                    normalised
                        .iter()
                        .zip(columns)
                        .find(|(n, c)| n.as_str() == *spelling && !taken.contains(&c.as_str()))
                        .map(|(_, c)| c.clone())
                })
            });
            if let Some(column) = found {
                taken.push(columns.iter().find(|c| **c == column).map(String::as_str).unwrap_or(""));
                used.insert(role, column);
            }
        }
        // Online Retail style: "Description" is the product name when there is no title.
        if !used.contains_key(&Role::Title)
            && !self.overrides.contains_key(&Role::Title)
            && let Some(desc) = used.remove(&Role::Description)
        {
            used.insert(Role::Title, desc);
        }
        // A generic "id" column is only an item id in a catalogue.
        if table != TableKind::Catalogue
            && used.get(&Role::ItemId).is_some_and(|c| normalise_column_name(c) == "id")
            && !self.overrides.contains_key(&Role::ItemId)
        {
            used.remove(&Role::ItemId);
        }
        ResolvedMapping { columns: used }
    }
}

/// The role → column assignment actually used for one file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResolvedMapping {
    /// Role → column name.
    pub columns: BTreeMap<Role, String>,
}

impl ResolvedMapping {
    /// The column for `role`, if mapped.
    pub fn get(&self, role: Role) -> Option<&str> {
        self.columns.get(&role).map(String::as_str)
    }

    /// Role id → column, for reports.
    pub fn by_role_id(&self) -> BTreeMap<String, String> {
        self.columns.iter().map(|(r, c)| (r.id().to_owned(), c.clone())).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cols(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn online_retail_columns() {
        let c = cols(&[
            "InvoiceNo",
            "StockCode",
            "Description",
            "Quantity",
            "InvoiceDate",
            "UnitPrice",
            "CustomerID",
            "Country",
        ]);
        let m = ColumnMapping::default().resolve(TableKind::Behaviour, &c);
        assert_eq!(m.get(Role::UserId), Some("CustomerID"));
        assert_eq!(m.get(Role::ItemId), Some("StockCode"));
        assert_eq!(m.get(Role::Timestamp), Some("InvoiceDate"));
        assert_eq!(m.get(Role::Invoice), Some("InvoiceNo"));
        assert_eq!(m.get(Role::Title), Some("Description"));
        assert_eq!(m.get(Role::Price), Some("UnitPrice"));
        assert_eq!(m.get(Role::Quantity), Some("Quantity"));
    }

    #[test]
    fn recbole_and_overrides() {
        let c = cols(&["user_id:token", "item_id:token", "rating:float", "timestamp:float"]);
        let m = ColumnMapping::default().resolve(TableKind::Behaviour, &c);
        assert_eq!(m.get(Role::UserId), Some("user_id:token"));
        assert_eq!(m.get(Role::Rating), Some("rating:float"));
        let over = ColumnMapping::from_args(&["timestamp=rating:float".to_owned()]).ok();
        let m = over.map(|o| o.resolve(TableKind::Behaviour, &c)).unwrap_or_default();
        assert_eq!(m.get(Role::Timestamp), Some("rating:float"));
        assert!(ColumnMapping::from_args(&["nonsense".to_owned()]).is_err());
        assert!(ColumnMapping::from_args(&["colour=x".to_owned()]).is_err());
    }
}
