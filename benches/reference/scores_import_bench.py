#!/usr/bin/env python3
"""Importing an external score table: `recfuse validate --signal-file` (read, match every id to
the data, count problems, sort, build the per-shopper rows) vs polars-python reading the same
Parquet file, in one side-by-side run.

Install (exact command used for BENCHMARKS.md):
    python3 -m venv /tmp/venv-ext && /tmp/venv-ext/bin/pip install polars numpy

Usage (from the repository root, after `cargo build --release`):
    /tmp/venv-ext/bin/python benches/reference/scores_import_bench.py \
        --rows 50000000 --users 200000 --items 100000 --dir /tmp/scores-bench [--reps 3]

It writes, once, into --dir: catalogue.parquet (item ids i0…), events.parquet (one event per
shopper, so every shopper id is known) and scores.parquet (`user_id` int64, `item_id` text,
`score` float64; seeded random pairs, duplicates possible). Then, round by round (round 0 is a
warm-up and is not reported), it times `pl.read_parquet(scores)` in this process and runs
`/usr/bin/time -v target/release/recfuse validate ... --signal-file ext=scores.parquet --json`,
taking RecFuse's import time from its JSON (`signal_files[0].seconds`: the score file only, not
the catalogue and events) and its peak memory from `time -v` (the whole process).
"""

import argparse
import json
import os
import re
import statistics
import subprocess
import time

import numpy as np
import polars as pl


def generate(d, rows, users, items, seed=7):
    os.makedirs(d, exist_ok=True)
    scores = os.path.join(d, "scores.parquet")
    if os.path.exists(scores):
        return scores
    rng = np.random.default_rng(seed)
    item_ids = [f"i{i}" for i in range(items)]
    pl.DataFrame({"item_id": item_ids, "title": [f"item {i}" for i in range(items)]}).write_parquet(
        os.path.join(d, "catalogue.parquet"))
    pl.DataFrame({
        "user_id": np.arange(users, dtype=np.int64),
        "item_id": [item_ids[i % items] for i in range(users)],
        "timestamp": np.full(users, 1_300_000_000, dtype=np.int64) + np.arange(users, dtype=np.int64),
    }).write_parquet(os.path.join(d, "events.parquet"))
    u = rng.integers(0, users, rows, dtype=np.int64)
    i = rng.integers(0, items, rows, dtype=np.int64)
    s = rng.random(rows)
    frame = pl.DataFrame({"user_id": u, "item": i, "score": s}).with_columns(
        (pl.lit("i") + pl.col("item").cast(pl.String)).alias("item_id")).select("user_id", "item_id", "score")
    frame.write_parquet(scores, row_group_size=1_000_000)
    return scores


def recfuse_run(binary, d):
    cmd = ["/usr/bin/time", "-v", binary, "validate", "--json",
           "--catalogue", os.path.join(d, "catalogue.parquet"),
           "--behaviour", os.path.join(d, "events.parquet"),
           "--signal-file", "ext=" + os.path.join(d, "scores.parquet")]
    p = subprocess.run(cmd, capture_output=True, text=True, check=True)
    report = json.loads(p.stdout)
    peak_kib = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", p.stderr).group(1))
    return report["signal_files"][0]["seconds"], peak_kib / 1024, report["signal_files"][0]["report"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=50_000_000)
    ap.add_argument("--users", type=int, default=200_000)
    ap.add_argument("--items", type=int, default=100_000)
    ap.add_argument("--dir", default="/tmp/scores-bench")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--recfuse", default="target/release/recfuse")
    a = ap.parse_args()
    scores = generate(a.dir, a.rows, a.users, a.items)
    polars_s, recfuse_s, peaks = [], [], []
    size_mib = None
    report = None
    for r in range(a.reps + 1):
        t = time.perf_counter()
        df = pl.read_parquet(scores)
        elapsed = time.perf_counter() - t
        size_mib = df.estimated_size("mb")
        del df
        seconds, peak, report = recfuse_run(a.recfuse, a.dir)
        if r == 0:
            continue
        polars_s.append(elapsed)
        recfuse_s.append(seconds)
        peaks.append(peak)
    print(json.dumps({
        "rows": a.rows, "file_mib": os.path.getsize(scores) / 2**20, "polars_frame_mib": size_mib,
        "polars_read_parquet_s": {"median": statistics.median(polars_s), "all": polars_s},
        "recfuse_import_s": {"median": statistics.median(recfuse_s), "all": recfuse_s},
        "recfuse_peak_rss_mib": {"median": statistics.median(peaks), "all": peaks},
        "recfuse_report": report,
    }, indent=2))


if __name__ == "__main__":
    main()
