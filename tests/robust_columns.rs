//! Column-level reading (issue #12): decimal commas in numeric columns and compact dates
//! (`YYYYMMDD`, `YYYYMMDDHHMMSS`) in time columns are read as what they mean, with a notice
//! naming the column, never silently as 150 / 1.23456 or as unix seconds in 1970.

use std::path::{Path, PathBuf};

use recfuse::data::{DataSources, Dataset, EventWeights, load_dataset};
use recfuse::jobs::Progress;

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).expect("write fixture");
    p
}

fn load(catalogue: Option<PathBuf>, behaviour: PathBuf) -> Dataset {
    let sources = DataSources { catalogue, behaviour, ..DataSources::default() };
    match load_dataset(&sources, &EventWeights::default(), &Progress::new()) {
        Ok(d) => d,
        Err(e) => panic!("load failed: {e}"),
    }
}

fn notices(d: &Dataset) -> Vec<String> {
    d.report.files.iter().flat_map(|f| f.notices.iter().cloned()).collect()
}

fn price(d: &Dataset, id: &str) -> f32 {
    let i = d.catalogue.ids.get(id).expect("item known") as usize;
    d.catalogue.prices[i]
}

const EVENTS: &str = "user_id,item_id,timestamp\nu1,A,2011-01-01 10:00\nu1,B,2011-01-02 10:00\nu2,C,2011-01-03 10:00\n";

#[test]
fn semicolon_catalogue_reads_decimal_commas() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cat = write(dir.path(), "items.csv", "item_id;title;price\nA;Mug;1,50\nB;Lamp;1.234,56\nC;Towel;2\n");
    let events = write(dir.path(), "events.csv", EVENTS);
    let d = load(Some(cat), events);
    assert!((price(&d, "A") - 1.5).abs() < 1e-4, "1,50 read as {}", price(&d, "A"));
    assert!((price(&d, "B") - 1234.56).abs() < 1e-2, "1.234,56 read as {}", price(&d, "B"));
    assert!((price(&d, "C") - 2.0).abs() < 1e-4);
    let n = notices(&d);
    assert!(n.iter().any(|s| s == "price: decimal commas read as decimal points"), "{n:?}");
}

#[test]
fn comma_file_with_unambiguous_decimal_commas_in_quotes() {
    // A ',' separated file whose quoted prices consistently use ',' as the decimal mark.
    let dir = tempfile::tempdir().expect("tempdir");
    let cat =
        write(dir.path(), "items.csv", "item_id,title,price\nA,Mug,\"1,50\"\nB,Lamp,\"12,5\"\nC,Towel,\"1.000,00\"\n");
    let events = write(dir.path(), "events.csv", EVENTS);
    let d = load(Some(cat), events);
    assert!((price(&d, "A") - 1.5).abs() < 1e-4, "{}", price(&d, "A"));
    assert!((price(&d, "B") - 12.5).abs() < 1e-4, "{}", price(&d, "B"));
    assert!((price(&d, "C") - 1000.0).abs() < 1e-3, "{}", price(&d, "C"));
    assert!(notices(&d).iter().any(|s| s.starts_with("price: decimal commas")));
}

#[test]
fn thousands_commas_stay_thousands() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cat =
        write(dir.path(), "items.csv", "item_id,title,price\nA,Mug,\"$1,025.50\"\nB,Lamp,\"1,500\"\nC,Towel,2.25\n");
    let events = write(dir.path(), "events.csv", EVENTS);
    let d = load(Some(cat), events);
    assert!((price(&d, "A") - 1025.5).abs() < 1e-2);
    assert!((price(&d, "B") - 1500.0).abs() < 1e-2);
    assert!(!notices(&d).iter().any(|s| s.contains("decimal commas")));
}

#[test]
fn semicolon_behaviour_ratings_and_derived_prices() {
    let dir = tempfile::tempdir().expect("tempdir");
    let events = write(
        dir.path(),
        "events.csv",
        "user_id;item_id;timestamp;rating;price\nu1;A;1293962400;4,5;1,50\nu1;B;1293962500;3,0;2,50\nu2;A;1293962600;5;1,50\n",
    );
    let d = load(None, events);
    assert_eq!(d.behaviour.rating.len(), 3, "no rating row dropped");
    let mut ratings = d.behaviour.rating.clone();
    ratings.sort_by(f32::total_cmp);
    assert_eq!(ratings, vec![3.0, 4.5, 5.0]);
    assert!((price(&d, "A") - 1.5).abs() < 1e-4, "{}", price(&d, "A"));
    let n = notices(&d);
    assert!(n.iter().any(|s| s == "rating: decimal commas read as decimal points"), "{n:?}");
    assert!(n.iter().any(|s| s == "price: decimal commas read as decimal points"), "{n:?}");
}

#[test]
fn compact_dates_are_dates_not_1970() {
    let dir = tempfile::tempdir().expect("tempdir");
    let events = write(dir.path(), "events.csv", "user_id,item_id,date\nu1,A,20110301\nu1,B,20110302\nu2,A,20111231\n");
    let d = load(None, events);
    // 2011-03-01T00:00:00Z = 1298937600.
    assert_eq!(d.behaviour.time.first(), Some(&1_298_937_600), "{:?}", d.behaviour.time);
    assert_eq!(d.behaviour.time.last(), Some(&1_325_289_600));
    let n = notices(&d);
    assert!(n.iter().any(|s| s == "date: 8-digit values read as YYYYMMDD dates, not unix seconds"), "{n:?}");
}

#[test]
fn compact_date_times_are_read() {
    let dir = tempfile::tempdir().expect("tempdir");
    let events =
        write(dir.path(), "events.csv", "user_id,item_id,timestamp\nu1,A,20110301083000\nu2,B,20110302000000\n");
    let d = load(None, events);
    assert_eq!(d.behaviour.time.first(), Some(&1_298_968_200), "{:?}", d.behaviour.time);
    assert!(notices(&d).iter().any(|s| s.starts_with("timestamp: 14-digit values read as YYYYMMDDHHMMSS")));
}

#[test]
fn unix_seconds_with_eight_digits_stay_unix_seconds() {
    // 8-digit numbers that are not all valid dates (month 13+) are unix seconds in 1970.
    let dir = tempfile::tempdir().expect("tempdir");
    let events = write(dir.path(), "events.csv", "user_id,item_id,timestamp\nu1,A,10000000\nu2,B,19701399\n");
    let d = load(None, events);
    assert_eq!(d.behaviour.time.first(), Some(&10_000_000));
    assert!(!notices(&d).iter().any(|s| s.contains("YYYYMMDD")));
}

/// A second date column (a delivery date as text) is not a segment; a real categorical
/// column beside it is (issue #19, item 9).
#[test]
fn a_date_string_column_is_not_a_segment() {
    let dir = tempfile::tempdir().expect("tempdir");
    let events = write(
        dir.path(),
        "e.csv",
        "user_id,item_id,timestamp,ship_date,store\n\
         u1,A,2011-01-01 10:00,2011-01-03,north\n\
         u1,B,2011-01-02 10:00,2011-01-04,south\n\
         u2,A,2011-01-02 11:00,2011-01-04,north\n",
    );
    let d = load(None, events);
    let names: Vec<&str> = d.behaviour.attributes.iter().map(|a| a.name.as_str()).collect();
    assert!(names.contains(&"store"), "{names:?}");
    assert!(!names.contains(&"ship_date"), "{names:?}");
}
