#!/usr/bin/env python3
"""Loading the same files with polars-python and pandas vs `recfuse bench load`, measured in
the same run (interleaved round by round; round 0 is a warm-up and is not reported).

Install (exact command used for BENCHMARKS.md):
    python3 -m venv /work/bench_venv && /work/bench_venv/bin/pip install \
        implicit==0.7.2 numpy scipy polars pandas pyarrow

Usage (from the repository root, after `cargo build --release`):
    /work/bench_venv/bin/python benches/reference/load_bench.py --data retail --reps 5 [--json]
    /work/bench_venv/bin/python benches/reference/load_bench.py --data completejourney --reps 5
    /work/bench_venv/bin/python benches/reference/load_bench.py --data retail --peak-memory

--peak-memory measures, instead of times, the peak resident memory (`/usr/bin/time -f %M`) of
one fresh process each, alternating 3 rounds: a Python process that imports only polars and
runs the "equivalent work" function below (its source, unchanged), and `recfuse validate`
loading the same files once.

The Python side does the work RecFuse's loader does, not just a raw read:
- retail (online_retail.csv.gz, behaviour only): read with ids as strings; parse InvoiceDate;
  drop rows without CustomerID; derive the event type (InvoiceNo 'C…' → cancel, Quantity ≤ 0 →
  adjustment, else purchase); intern user and item ids (categorical codes); sort by time; derive
  the catalogue (most frequent Description and median UnitPrice per StockCode).
- completejourney (products.parquet + transactions.parquet): read both; ids as strings; keep
  events whose product is in the catalogue; intern ids; sort by time.
- a generated directory (catalogue.parquet + events.parquet): the same, timestamps converted
  from unix seconds.
A "raw read" row (read + timestamp parse only) is printed too, as the lower bound.
RecFuse additionally records every dropped row with examples (the validation report).
"""

import argparse
import json
import time

import pandas as pd
import polars as pl

from common import SHARED, fmt, machine, recfuse_binary, row_of, run_recfuse, summary

RETAIL = SHARED / "online_retail" / "online_retail.csv.gz"
CJ = SHARED / "completejourney"
IDS = {"InvoiceNo": pl.Utf8, "StockCode": pl.Utf8, "CustomerID": pl.Utf8}


def polars_retail_raw():
    df = pl.read_csv(RETAIL, schema_overrides=IDS)
    return df.with_columns(pl.col("InvoiceDate").str.strptime(pl.Datetime("us"), "%Y-%m-%d %H:%M")).height


def polars_retail():
    df = pl.read_csv(RETAIL, schema_overrides=IDS)
    df = df.with_columns(pl.col("InvoiceDate").str.strptime(pl.Datetime("us"), "%Y-%m-%d %H:%M")).filter(
        pl.col("CustomerID").is_not_null() & pl.col("StockCode").is_not_null() & pl.col("InvoiceDate").is_not_null()
    )
    df = df.with_columns(
        pl.when(pl.col("InvoiceNo").str.starts_with("C"))
        .then(pl.lit("cancel"))
        .when(pl.col("Quantity") <= 0)
        .then(pl.lit("adjustment"))
        .otherwise(pl.lit("purchase"))
        .alias("event_type"),
        pl.col("CustomerID").cast(pl.Categorical).to_physical().alias("user"),
        pl.col("StockCode").cast(pl.Categorical).to_physical().alias("item"),
    ).sort("InvoiceDate", maintain_order=True)
    catalogue = df.group_by("StockCode").agg(
        pl.col("Description").drop_nulls().mode().first().alias("title"),
        pl.col("UnitPrice").filter(pl.col("UnitPrice") > 0).median().alias("price"),
    )
    return df.height + catalogue.height


def pandas_retail_raw():
    df = pd.read_csv(RETAIL, dtype={"InvoiceNo": str, "StockCode": str, "CustomerID": str})
    df["InvoiceDate"] = pd.to_datetime(df["InvoiceDate"], format="%Y-%m-%d %H:%M")
    return len(df)


def pandas_retail():
    df = pd.read_csv(RETAIL, dtype={"InvoiceNo": str, "StockCode": str, "CustomerID": str})
    df["InvoiceDate"] = pd.to_datetime(df["InvoiceDate"], format="%Y-%m-%d %H:%M")
    df = df.dropna(subset=["CustomerID", "StockCode", "InvoiceDate"])
    cancel = df["InvoiceNo"].str.startswith("C")
    df["event_type"] = "purchase"
    df.loc[df["Quantity"] <= 0, "event_type"] = "adjustment"
    df.loc[cancel, "event_type"] = "cancel"
    df["user"] = df["CustomerID"].astype("category").cat.codes
    df["item"] = df["StockCode"].astype("category").cat.codes
    df = df.sort_values("InvoiceDate", kind="stable")
    title = df.dropna(subset=["Description"]).groupby("StockCode")["Description"].agg(lambda s: s.mode().iat[0])
    price = df[df["UnitPrice"] > 0].groupby("StockCode")["UnitPrice"].median()
    return len(df) + len(title) + len(price)


def polars_cj_raw():
    return pl.read_parquet(CJ / "products.parquet").height + pl.read_parquet(CJ / "transactions.parquet").height


def polars_cj():
    products = pl.read_parquet(CJ / "products.parquet").with_columns(pl.col("product_id").cast(pl.Utf8))
    tx = pl.read_parquet(CJ / "transactions.parquet").with_columns(
        pl.col("household_id").cast(pl.Utf8), pl.col("product_id").cast(pl.Utf8), pl.col("basket_id").cast(pl.Utf8)
    )
    tx = tx.join(products.select("product_id"), on="product_id", how="semi")
    tx = tx.with_columns(
        pl.col("household_id").cast(pl.Categorical).to_physical().alias("user"),
        pl.col("product_id").cast(pl.Categorical).to_physical().alias("item"),
    ).sort("transaction_timestamp", maintain_order=True)
    return products.height + tx.height


def pandas_cj_raw():
    return len(pd.read_parquet(CJ / "products.parquet")) + len(pd.read_parquet(CJ / "transactions.parquet"))


def pandas_cj():
    products = pd.read_parquet(CJ / "products.parquet")
    products["product_id"] = products["product_id"].astype(str)
    tx = pd.read_parquet(CJ / "transactions.parquet")
    for c in ["household_id", "product_id", "basket_id"]:
        tx[c] = tx[c].astype(str)
    tx = tx[tx["product_id"].isin(set(products["product_id"]))]
    tx["user"] = tx["household_id"].astype("category").cat.codes
    tx["item"] = tx["product_id"].astype("category").cat.codes
    tx = tx.sort_values("transaction_timestamp", kind="stable")
    return len(products) + len(tx)


def polars_generated(d):
    catalogue = pl.read_parquet(d / "catalogue.parquet")
    events = pl.read_parquet(d / "events.parquet").join(catalogue.select("item_id"), on="item_id", how="semi")
    events = events.with_columns(
        pl.col("user_id").cast(pl.Categorical).to_physical().alias("user"),
        pl.col("item_id").cast(pl.Categorical).to_physical().alias("item"),
        pl.from_epoch("timestamp", time_unit="s").alias("time"),
    ).sort("time", maintain_order=True)
    return catalogue.height + events.height


def pandas_generated(d):
    catalogue = pd.read_parquet(d / "catalogue.parquet")
    events = pd.read_parquet(d / "events.parquet")
    events = events[events["item_id"].isin(set(catalogue["item_id"]))]
    events["user"] = events["user_id"].astype("category").cat.codes
    events["item"] = events["item_id"].astype("category").cat.codes
    events["time"] = pd.to_datetime(events["timestamp"], unit="s")
    events = events.sort_values("time", kind="stable")
    return len(catalogue) + len(events)


WORK = {
    "retail": [
        ("polars (equivalent work)", polars_retail),
        ("pandas (equivalent work)", pandas_retail),
        ("polars (read + parse timestamps only)", polars_retail_raw),
        ("pandas (read + parse timestamps only)", pandas_retail_raw),
    ],
    "completejourney": [
        ("polars (equivalent work)", polars_cj),
        ("pandas (equivalent work)", pandas_cj),
        ("polars (read only)", polars_cj_raw),
        ("pandas (read only)", pandas_cj_raw),
    ],
}


def peak_kib(cmd):
    """Peak resident memory of one run of `cmd`, in KiB (GNU time)."""
    import subprocess
    import sys

    out = subprocess.run(["/usr/bin/time", "-f", "%M", *cmd], capture_output=True, text=True, check=True)
    return int(out.stderr.strip().splitlines()[-1])


def peak_memory(data, binary, rounds=3):
    """Peak memory of polars-python doing the equivalent work vs `recfuse validate`."""
    import inspect
    import sys
    from pathlib import Path

    prelude = (
        "import polars as pl\nfrom pathlib import Path\n"
        f"RETAIL = Path({str(RETAIL)!r})\nCJ = Path({str(CJ)!r})\n"
        "IDS = {'InvoiceNo': pl.Utf8, 'StockCode': pl.Utf8, 'CustomerID': pl.Utf8}\n"
    )
    if data == "retail":
        fn, call = polars_retail, "polars_retail()"
        files = ["--behaviour", str(RETAIL)]
    elif data == "completejourney":
        fn, call = polars_cj, "polars_cj()"
        files = ["--catalogue", str(CJ / "products.parquet"), "--behaviour", str(CJ / "transactions.parquet")]
    else:
        d = Path(data).resolve()
        fn, call = polars_generated, f"polars_generated(Path({str(d)!r}))"
        files = ["--catalogue", str(d / "catalogue.parquet"), "--behaviour", str(d / "events.parquet")]
    script = prelude + inspect.getsource(fn) + "\n" + call + "\n"
    polars_kib, recfuse_kib = [], []
    for _ in range(rounds):
        polars_kib.append(peak_kib([sys.executable, "-c", script]))
        recfuse_kib.append(peak_kib([binary, "validate", *files, "--json"]))
    p, r = max(polars_kib) / 1024, max(recfuse_kib) / 1024
    print(f"peak memory, {data}, max of {rounds} fresh processes each:")
    print(f"  polars-python (equivalent work)  {p:.0f} MiB   (runs: {[round(k / 1024) for k in polars_kib]})")
    print(f"  recfuse validate                 {r:.0f} MiB   (runs: {[round(k / 1024) for k in recfuse_kib]})")
    print(f"  RecFuse / polars = {r / p:.2f}x")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default="retail", help="retail, completejourney, or a directory from `recfuse bench generate`")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--recfuse", default=None)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--peak-memory", action="store_true", help="measure peak memory instead of time")
    args = ap.parse_args()
    binary = recfuse_binary(args.recfuse)
    if args.peak_memory:
        peak_memory(args.data, binary)
        return
    if args.data not in WORK:
        from pathlib import Path

        d = Path(args.data).resolve()
        args.data = str(d)
        WORK[args.data] = [
            ("polars (equivalent work)", lambda: polars_generated(d)),
            ("pandas (equivalent work)", lambda: pandas_generated(d)),
        ]
    times = {name: [] for name, _ in WORK[args.data]}
    recfuse = []
    report = None
    for round_no in range(args.reps + 1):
        for name, fn in WORK[args.data]:
            t0 = time.perf_counter()
            fn()
            if round_no > 0:
                times[name].append(time.perf_counter() - t0)
        report = run_recfuse(binary, ["bench", "load", "--data", args.data, "--warmup", "1", "--reps", "1"])
        if round_no > 0:
            recfuse.append(row_of(report, "load", "load")["timing"]["median_s"])
    rf = summary(recfuse)
    result = {
        "machine": machine(),
        "polars": pl.__version__,
        "pandas": pd.__version__,
        "data": args.data,
        "recfuse_dataset": report["dataset"] if report else None,
        "recfuse": rf,
        "reference": {name: summary(v) for name, v in times.items()},
        "ratio_recfuse_over": {name: rf["median_s"] / summary(v)["median_s"] for name, v in times.items()},
    }
    if args.json:
        print(json.dumps(result, indent=2, default=str))
        return
    m = result["machine"]
    print(f"machine: {m['cpu']} x {m['cores']} cores, Python {m['python']}, polars {pl.__version__}, pandas {pd.__version__}")
    print(f"load {args.data} ({args.reps} rounds after 1 warm-up, min / median / max, wall):")
    print(f"  {'RecFuse (load + validate)':<40} {fmt(rf)}")
    for name, v in times.items():
        s = summary(v)
        print(f"  {name:<40} {fmt(s)}   RecFuse / this = {rf['median_s'] / s['median_s']:.2f}x")


if __name__ == "__main__":
    main()
