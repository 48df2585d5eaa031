use super::*;
use clap::Parser;

#[derive(Debug, Parser)]
struct Wrapper {
    #[command(flatten)]
    bench: BenchArgs,
}

fn parse(args: &[&str]) -> Result<BenchArgs, clap::Error> {
    Wrapper::try_parse_from(std::iter::once("bench").chain(args.iter().copied())).map(|w| w.bench)
}

#[test]
fn parses_areas_and_options() {
    let a = parse(&[]).expect("defaults");
    assert_eq!(a.area, BenchArea::All);
    assert_eq!(a.data, vec!["sample".to_owned()]);
    assert_eq!((a.reps, a.warmup, a.json), (5, 1, false));
    let a = parse(&["fit", "--data", "retail", "--signal", "als,item_cf", "--reps", "3", "--json"]).expect("fit");
    assert_eq!(a.area, BenchArea::Fit);
    assert_eq!(a.signal, vec!["als".to_owned(), "item_cf".to_owned()]);
    assert_eq!((a.reps, a.json), (3, true));
    let a = parse(&["load", "--data", "cat.csv", "events.csv"]).expect("two files");
    assert_eq!(a.data.len(), 2);
    let a =
        parse(&["generate", "--events", "1000", "--items", "10", "--seed", "7", "--out", "/tmp/x"]).expect("generate");
    assert_eq!((a.area, a.events, a.items, a.seed), (BenchArea::Generate, 1000, 10, 7));
    assert!(parse(&["nonsense"]).is_err());
    assert!(parse(&["fit", "--als-transform", "cubic"]).is_err());
    assert!(parse(&["fit", "--reps", "-1"]).is_err());
}

#[test]
fn als_overrides_apply() {
    let a = parse(&["fit", "--als-transform", "raw", "--als-alpha", "0.125", "--als-iterations", "3"]).expect("parse");
    let p = params_from(&a).expect("params");
    assert_eq!(p.als.transform, ValueTransform::Raw);
    assert_eq!(p.als.alpha, 0.125);
    assert_eq!(p.als.iterations, 3);
    let bad = parse(&["fit", "--als-alpha=-1"]).expect("parse");
    assert!(params_from(&bad).is_err());
}

#[test]
fn datasets_resolve_or_fail_clearly() {
    let sample = resolve_dataset(&["sample".to_owned()], &[]).expect("the bundled sample exists");
    assert!(sample.behaviour.ends_with("events.csv"));
    assert!(sample.catalogue.is_some());
    let err = resolve_dataset(&["/no/such/file.csv".to_owned()], &[]).expect_err("missing file");
    assert!(err.to_string().contains("not found"), "{err}");
    let dir = tempfile::tempdir().expect("tempdir");
    let err = resolve_dataset(&[dir.path().display().to_string()], &[]).expect_err("empty dir");
    assert!(err.to_string().contains("events.parquet"), "{err}");
}

#[test]
fn generated_data_round_trips_through_the_loader() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("synth");
    let args = parse(&[
        "generate",
        "--events",
        "3000",
        "--items",
        "200",
        "--seed",
        "5",
        "--out",
        out.to_str().expect("utf-8 path"),
        "--json",
    ])
    .expect("parse");
    assert_eq!(run(&args).expect("generate"), 0);
    let spec = resolve_dataset(&[out.display().to_string()], &[]).expect("resolve");
    let sources =
        DataSources { catalogue: spec.catalogue.clone(), behaviour: spec.behaviour.clone(), ..DataSources::default() };
    let d = load_dataset(&sources, &EventWeights::default(), &Progress::new()).expect("load");
    assert_eq!(d.behaviour.len(), 3000, "every generated event is valid");
    assert_eq!(d.catalogue.len(), 200);
    assert!(d.catalogue.has_prices() && d.catalogue.has_categories());
}

#[test]
fn cpu_time_is_utime_plus_stime_in_hundredths() {
    // Fields 14 and 15 (utime 250, stime 30 ticks); a name with spaces and ')' inside.
    let stat = "4242 (re (c) fuse) R 1 2 3 4 5 6 7 8 9 10 250 30 0 0 20 0 3 0 100 2000 50";
    assert_eq!(super::support::parse_stat_cpu(stat), Some(2.8));
}
