#!/usr/bin/env python3
"""Cuts the small-shop subsets of RESULTS.md reproducibly from ../shared/data (issue #13):
100 MovieLens latest-small users and 300 full Online Retail shoppers, drawn without
replacement from the sorted distinct user ids with a fixed seed; every row of a drawn user is
kept unchanged (same columns, same order), so `recfuse eval` reads them like the full files.

Install: python3 -m venv /tmp/venv-quality && /tmp/venv-quality/bin/pip install polars==2.1.0
Usage:   /tmp/venv-quality/bin/python benches/results/cut_small.py OUT_DIR [--seed 13]
Writes:  OUT_DIR/ml100/ratings.csv, OUT_DIR/ml100/movies.csv (the full catalogue),
         OUT_DIR/retail300/online_retail.csv
"""

import argparse
import random
import shutil
from pathlib import Path

import polars as pl

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "data"


def draw(ids, n, seed):
    ids = sorted(ids)
    return set(random.Random(seed).sample(ids, min(n, len(ids))))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out")
    ap.add_argument("--seed", type=int, default=13)
    args = ap.parse_args()
    out = Path(args.out)

    ml = SHARED / "movielens_latest_small"
    ratings = pl.read_csv(ml / "ratings.csv")
    keep = draw(ratings["userId"].unique().to_list(), 100, args.seed)
    (out / "ml100").mkdir(parents=True, exist_ok=True)
    ratings.filter(pl.col("userId").is_in(list(keep))).write_csv(out / "ml100" / "ratings.csv")
    shutil.copyfile(ml / "movies.csv", out / "ml100" / "movies.csv")

    retail = pl.read_csv(SHARED / "online_retail" / "online_retail.csv.gz", infer_schema=False)
    ids = retail.filter(pl.col("CustomerID").is_not_null() & (pl.col("CustomerID") != ""))["CustomerID"]
    keep = draw(ids.unique().to_list(), 300, args.seed)
    (out / "retail300").mkdir(parents=True, exist_ok=True)
    retail.filter(pl.col("CustomerID").is_in(list(keep))).write_csv(out / "retail300" / "online_retail.csv")
    for name in ("ml100/ratings.csv", "retail300/online_retail.csv"):
        print(f"{out / name}: {pl.read_csv(out / name, infer_schema=False).height} rows")


if __name__ == "__main__":
    main()
