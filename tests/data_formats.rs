//! Every supported input format loads, with columns auto-mapped.

use std::io::Write;
use std::path::{Path, PathBuf};

use recfuse::data::{DataSources, EventWeights, IssueKind, load_dataset};
use recfuse::jobs::Progress;

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).expect("write fixture");
    p
}

fn load(catalogue: Option<PathBuf>, behaviour: PathBuf) -> recfuse::data::Dataset {
    let sources = DataSources { catalogue, behaviour, ..DataSources::default() };
    match load_dataset(&sources, &EventWeights::default(), &Progress::new()) {
        Ok(d) => d,
        Err(e) => panic!("load failed: {e}"),
    }
}

const CATALOGUE: &str = "item_id,title,price,category\nA,Red mug,3.50,Kitchen > Mugs\nB,Blue mug,4.00,Kitchen > Mugs\nC,Tea towel,2.25,Kitchen\n";

#[test]
fn csv_tsv_and_semicolon_are_sniffed() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (name, sep) in [("events.csv", ","), ("events.tsv", "\t"), ("events.txt", ";")] {
        let body = format!(
            "user_id{s}item_id{s}timestamp{s}event_type\nu1{s}A{s}2011-01-01 10:00{s}purchase\nu1{s}B{s}2011-01-02 10:00{s}view\nu2{s}C{s}1293962400{s}cart\n",
            s = sep
        );
        let cat = write(dir.path(), "catalogue.csv", CATALOGUE);
        let ev = write(dir.path(), name, &body);
        let d = load(Some(cat), ev);
        assert_eq!(d.report.events, 3, "{name}");
        assert_eq!(d.report.users, 2, "{name}");
        assert_eq!(d.report.items, 3);
        assert_eq!(d.report.event_types.get("purchase"), Some(&1));
        assert_eq!(d.report.event_types.get("cart"), Some(&1));
        // Events are sorted by time: 1293962400 = 2011-01-02 10:00 UTC, after the view? equal → stable.
        assert_eq!(d.behaviour.time.first().copied(), Some(1_293_876_000));
    }
}

#[test]
fn gzip_and_parquet() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cat = write(dir.path(), "catalogue.csv", CATALOGUE);
    let gz_path = dir.path().join("events.csv.gz");
    let mut enc =
        flate2::write::GzEncoder::new(std::fs::File::create(&gz_path).expect("create"), flate2::Compression::default());
    enc.write_all(b"user_id,item_id,timestamp\nu1,A,1293876000\nu2,B,1293876060\n").expect("gz write");
    enc.finish().expect("gz finish");
    let d = load(Some(cat.clone()), gz_path);
    assert_eq!(d.report.events, 2);
    assert!(d.report.files[1].format.contains("gzip"));

    use polars::prelude::*;
    let mut df = df!(
        "customer_id" => [10i64, 10, 11],
        "product_id" => ["A", "C", "B"],
        "ts" => [1_293_876_000i64, 1_293_879_600, 1_293_883_200],
    )
    .expect("frame");
    let pq = dir.path().join("events.parquet");
    ParquetWriter::new(std::fs::File::create(&pq).expect("create")).finish(&mut df).expect("parquet");
    let d = load(Some(cat), pq);
    assert_eq!(d.report.events, 3);
    assert_eq!(d.report.users, 2);
    assert_eq!(d.behaviour.users.get("10"), Some(0));
}

#[test]
fn json_lines_amazon_2018_without_mapping() {
    let dir = tempfile::tempdir().expect("tempdir");
    // Metadata: description as a list, category list, price as text or range, HTML in
    // titles, a duplicate asin line (identical) and one with a different title.
    let meta = concat!(
        r#"{"asin": "B001", "title": "Acme <b>Kettle</b> &amp; Lid", "description": ["Boils water.", "Steel."], "category": ["Home", "Kitchen", "Kettles"], "brand": "Acme", "price": "$25.00", "feature": ["1.7 l", "cordless"], "imageURL": ["https://img/1.jpg", "https://img/2.jpg"]}"#,
        "\n",
        r#"{"asin": "B002", "title": "Acme Toaster", "category": ["Home", "Kitchen"], "brand": "Acme", "price": "$10.00 - $20.00"}"#,
        "\n",
        r#"{"asin": "B001", "title": "Acme <b>Kettle</b> &amp; Lid", "description": ["Boils water.", "Steel."], "category": ["Home", "Kitchen", "Kettles"], "brand": "Acme", "price": "$25.00", "feature": ["1.7 l", "cordless"], "imageURL": ["https://img/1.jpg", "https://img/2.jpg"]}"#,
        "\n",
        r#"{"asin": "B002", "title": "Other title", "category": ["Home"], "price": "N/A"}"#,
        "\n",
        r#"{"asin": "B003", "title": "Mystery box", "price": ""}"#,
        "\n",
    );
    let reviews = concat!(
        r#"{"overall": 5.0, "verified": true, "reviewTime": "09 13, 2009", "reviewerID": "R1", "asin": "B001", "reviewerName": "x", "reviewText": "great", "summary": "ok", "unixReviewTime": 1252800000}"#,
        "\n",
        r#"{"overall": 2.0, "reviewerID": "R1", "asin": "B002", "unixReviewTime": 1252886400}"#,
        "\n",
        r#"{"overall": 4.0, "reviewerID": "R2", "asin": "B002", "unixReviewTime": 1252972800}"#,
        "\n",
        r#"{"overall": 4.0, "reviewerID": "R3", "asin": "B999", "unixReviewTime": 1252972800}"#,
        "\n",
    );
    let m = write(dir.path(), "meta_Home.json", meta);
    let r = write(dir.path(), "Home.json", reviews);
    let d = load(Some(m), r);
    let c = &d.catalogue;
    assert_eq!(c.len(), 3);
    assert_eq!(c.title(0), "Acme Kettle & Lid");
    assert_eq!(c.descriptions[0], "Boils water. Steel.");
    assert_eq!(c.categories[0], "Home > Kitchen > Kettles");
    assert_eq!(c.price(0), Some(25.0));
    assert_eq!(c.price(1), Some(15.0));
    assert_eq!(c.images[0], "https://img/1.jpg");
    assert_eq!(c.text_field("feature", 0), Some("1.7 l cordless"));
    let cat_report = &d.report.files[0];
    assert_eq!(cat_report.issues.get(&IssueKind::DuplicateItemIdentical).map(|c| c.count), Some(1));
    assert_eq!(cat_report.issues.get(&IssueKind::DuplicateItemConflicting).map(|c| c.count), Some(1));
    // Reviews: ratings → events; rating ≥ 4 positive (weight 8), below → 0.
    assert_eq!(d.report.events, 3);
    assert_eq!(d.report.files[1].issues.get(&IssueKind::UnknownItem).map(|c| c.count), Some(1));
    assert_eq!(d.behaviour.weight, vec![8.0, 0.0, 8.0]);
    assert_eq!(d.report.event_types.get("rating"), Some(&3));
}

#[test]
fn online_retail_raw_columns_and_cancellations() {
    let dir = tempfile::tempdir().expect("tempdir");
    let raw = "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n\
        536365,85123A,WHITE HANGING HEART T-LIGHT HOLDER,6,12/1/2010 8:26,2.55,17850,United Kingdom\n\
        536365,71053,WHITE METAL LANTERN,6,12/1/2010 8:26,3.39,17850,United Kingdom\n\
        C536379,85123A,WHITE HANGING HEART T-LIGHT HOLDER,-1,12/1/2010 9:41,2.55,17850,United Kingdom\n\
        536380,71053,WHITE METAL LANTERN,2,12/1/2010 9:45,3.39,,United Kingdom\n\
        536381,71053,WHITE METAL LANTERN,4,12/1/2010 10:00,3.59,13047,France\n";
    let ev = write(dir.path(), "online_retail.csv", raw);
    let d = load(None, ev);
    assert_eq!(d.report.events, 4);
    assert_eq!(d.report.items, 2);
    assert_eq!(d.report.event_types.get("cancel"), Some(&1));
    assert_eq!(d.report.event_types.get("purchase"), Some(&3));
    let f = &d.report.files[0];
    assert_eq!(f.issues.get(&IssueKind::MissingUserId).map(|c| c.count), Some(1));
    assert_eq!(f.columns_used.get("title").map(String::as_str), Some("Description"));
    // Derived catalogue: median price of 3.39 and 3.59 (the row without a customer is
    // dropped before its price is seen) = 3.49.
    let lantern = d.catalogue.ids.get("71053").expect("item");
    assert!((d.catalogue.price(lantern).unwrap_or(0.0) - 3.49).abs() < 1e-5);
    assert_eq!(d.catalogue.title(lantern), "WHITE METAL LANTERN");
    assert_eq!(d.behaviour.attribute("Country").map(|a| a.values.len()), Some(2));
}

#[test]
fn recbole_atomic_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    let item = write(
        dir.path(),
        "ml.item",
        "item_id:token\tmovie_title:token_seq\tgenre:token_seq\n1\tToy Story\tAnimation|Comedy\n2\tHeat\tAction\n",
    );
    let inter = write(
        dir.path(),
        "ml.inter",
        "user_id:token\titem_id:token\trating:float\ttimestamp:float\n1\t1\t5.0\t881250949.0\n1\t2\t3.0\t881250950.0\n2\t2\t4.0\t881250960.0\n",
    );
    let d = load(Some(item), inter);
    assert_eq!(d.report.events, 3);
    assert_eq!(d.catalogue.title(0), "Toy Story");
    assert_eq!(d.catalogue.category_labels[0].len(), 2);
    assert_eq!(d.behaviour.time.first().copied(), Some(881_250_949));
}

#[test]
fn movielens_100k_and_latest() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut item_line =
        String::from("1|Toy Story (1995)|01-Jan-1995||http://imdb|0|0|0|1|1|1|0|0|0|0|0|0|0|0|0|0|0|0|0\n");
    item_line.push_str("2|GoldenEye (1995)|01-Jan-1995||http://imdb|0|1|1|0|0|0|0|0|0|0|0|0|0|0|0|0|1|0|0\n");
    let item = dir.path().join("u.item");
    // u.item is Latin-1 in the original: include a non-UTF-8 byte.
    let mut bytes = item_line.into_bytes();
    bytes.extend_from_slice(b"3|Caf\xe9 (1996)|01-Jan-1996||http://imdb|0|0|0|0|0|0|0|0|1|0|0|0|0|0|0|0|0|0|0\n");
    std::fs::write(&item, bytes).expect("write");
    let data = write(dir.path(), "u.data", "196\t1\t3\t881250949\n186\t2\t5\t891717742\n196\t3\t4\t881251000\n");
    let d = load(Some(item), data);
    assert_eq!(d.report.events, 3);
    assert_eq!(d.catalogue.title(2), "Café (1996)");
    assert_eq!(d.catalogue.categories[1], "Action|Adventure|Thriller");
    assert!(d.report.files[0].notices.iter().any(|n| n.contains("Latin-1")));
    // 01-Jan-1995 → 788918400 (date -u -d 1995-01-01 +%s)
    assert_eq!(d.catalogue.created_at[0], Some(788_918_400));

    let movies = write(
        dir.path(),
        "movies.csv",
        "movieId,title,genres\n1,Toy Story (1995),Adventure|Animation\n2,Jumanji (1995),Adventure\n",
    );
    let ratings =
        write(dir.path(), "ratings.csv", "userId,movieId,rating,timestamp\n1,1,4.0,964982703\n1,2,3.5,964981247\n");
    let d = load(Some(movies), ratings);
    assert_eq!(d.report.events, 2);
    assert_eq!(d.behaviour.weight.iter().filter(|w| **w > 0.0).count(), 1);
}

/// `tests/fixtures/parquet_types/`: small integers, dictionary-encoded strings and a decimal
/// price load; struct, map and float16 columns are skipped with a notice naming them.
#[test]
fn parquet_as_pandas_and_spark_write_it() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/parquet_types");
    let d = load(Some(dir.join("catalogue.parquet")), dir.join("events.parquet"));
    assert_eq!(d.catalogue.len(), 3);
    let plate = d.catalogue.ids.get("2").expect("item 2 (a uint16 id)");
    assert_eq!(d.catalogue.title(plate), "Plate");
    assert_eq!(d.catalogue.price(plate), Some(2.25));
    assert_eq!(d.report.events, 4);
    assert_eq!(d.report.users, 3);
    let notices = d.report.files.first().map(|f| f.notices.join(" | ")).unwrap_or_default();
    for column in ["`dims`", "`tags`", "`weight16`"] {
        assert!(notices.contains(column) && notices.contains("skipped"), "{column} not in: {notices}");
    }
    assert!(!notices.contains("`price`") && !notices.contains("`stock`"), "{notices}");
}
