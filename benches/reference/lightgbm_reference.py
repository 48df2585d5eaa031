#!/usr/bin/env python3
"""LightGBM LambdaMART on the learned ranker's own feature tables (issue #15, deliverable 6):
the learned ranker and LightGBM trained on the same shoppers and features in one run, and both
measured on test by `recfuse eval` with RecFuse's metric definitions and bootstrap intervals.

Install (exact command):
    python3 -m venv /tmp/venv-quality && /tmp/venv-quality/bin/pip install \
        lightgbm==4.7.0 numpy polars==2.1.0 pyarrow   (no scikit-learn: the native lgb.train API)

Usage (from the repository root; the arguments after `--` are the data options shared by
`recfuse train` and `recfuse eval`):
    /tmp/venv-quality/bin/python benches/reference/lightgbm_reference.py --out docs/results/lightgbm_sample.json \
        [--recfuse BIN] [--train-args=--no-embedding-features] -- \
        --catalogue sample_data/online_retail/catalogue.csv --behaviour sample_data/online_retail/events.csv

Steps:
1. `recfuse train DATA --out DIR/ranker.safetensors --export-features DIR` trains the learned ranker
   (fitted on 60 % of the validation shoppers, early stopping on 20 %) and writes those parts
   (`train.parquet`, `validation.parquet`, `compare.parquet`) and every test shopper's candidates
   (`test.parquet`): shopper, item, label, then the ranker's dense features (each signal's
   min-max-normalised score and the cheap features) and the embedding cosine V_u · V_i
   (src/eval/feature_export.rs).
2. LightGBM LambdaMART (`lgb.train`, objective `lambdarank`) is fitted on `train.parquet` (one query per
   shopper) with early stopping on NDCG@10 of `validation.parquet` — the ranker's own early-stopping
   shoppers — and scores `test.parquet`.
3. `recfuse eval DATA --fusion learned --ranker DIR/ranker.safetensors --signal-file lightgbm=FILE`
   measures the learned ranker (`learned` row) and LightGBM's test scores (`lightgbm` signal row)
   on the same test candidates, exclusions, duplicate collapsing, tie order and bootstrap
   (1,000 resamples, seed 42); the JSON written is that report plus a `lightgbm` key.
"""

import argparse
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import lightgbm as lgb
import numpy as np
import polars as pl

REPO = Path(__file__).resolve().parents[2]
PARAMS = dict(
    objective="lambdarank", metric="ndcg", ndcg_eval_at=[10], learning_rate=0.05, num_leaves=31,
    min_data_in_leaf=20, seed=42, deterministic=True, force_col_wise=True, verbose=-1, num_threads=1,
)
ROUNDS, PATIENCE = 1000, 50


def recfuse_binary(explicit):
    if explicit:
        return explicit
    if os.environ.get("RECFUSE_BIN"):
        return os.environ["RECFUSE_BIN"]
    return str(Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target")) / "release" / "recfuse")


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def table(path, features=None):
    df = pl.read_parquet(path).sort("shopper", maintain_order=True)
    names = features or [c for c in df.columns if c not in ("shopper", "item", "label")]
    groups = df.group_by("shopper", maintain_order=True).len()["len"].to_numpy()
    labels = (df["label"].to_numpy() > 0).astype(np.int32)
    return df, df.select(names).to_numpy().astype(np.float32), labels, groups, names


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    ap.add_argument("--recfuse", default=None)
    ap.add_argument("--train-args", default="", help="extra `recfuse train` options (quoted)")
    ap.add_argument("data", nargs=argparse.REMAINDER, help="-- then the data options")
    args = ap.parse_args()
    data = args.data[1:] if args.data[:1] == ["--"] else args.data
    binary = recfuse_binary(args.recfuse)
    tmp = Path(tempfile.mkdtemp(prefix="recfuse-lightgbm-"))
    ranker = tmp / "ranker.safetensors"
    started = time.perf_counter()
    trained = subprocess.run(
        [binary, "train", *data, *shlex.split(args.train_args), "--out", str(ranker), "--export-features", str(tmp), "--json"],
        check=True, capture_output=True, text=True, cwd=REPO,
    )
    train_report = json.loads(trained.stdout)
    log(f"recfuse train + export: {time.perf_counter() - started:.0f} s; tables {train_report['export_features']}")
    _, x_fit, y_fit, g_fit, names = table(tmp / "train.parquet")
    _, x_stop, y_stop, g_stop, _ = table(tmp / "validation.parquet", names)
    test_df, x_test, _, _, _ = table(tmp / "test.parquet", names)
    started = time.perf_counter()
    fit = lgb.Dataset(x_fit, y_fit, group=g_fit, feature_name=names)
    stop = lgb.Dataset(x_stop, y_stop, group=g_stop, reference=fit)
    model = lgb.train(PARAMS, fit, num_boost_round=ROUNDS, valid_sets=[stop], valid_names=["stop"],
                      callbacks=[lgb.early_stopping(PATIENCE, verbose=False)])
    fit_seconds = time.perf_counter() - started
    best = model.best_iteration
    stop_ndcg = model.best_score["stop"]["ndcg@10"]
    log(f"lightgbm: {best} trees, early-stopping ndcg@10 {stop_ndcg:.4f} (LightGBM's own NDCG), {fit_seconds:.1f} s")
    scores = np.asarray(model.predict(x_test, num_iteration=best), dtype=np.float64)
    # Positive scores (a candidate missing from the file scores 0); order and ties unchanged.
    scores = scores - scores.min() + max(float(scores.max() - scores.min()), 1.0) * 1e-3
    path = tmp / "lightgbm.csv"
    pl.DataFrame({"user_id": test_df["shopper"], "item_id": test_df["item"], "score": scores}).write_csv(path)
    report = subprocess.run(
        [binary, "eval", *data, "--fusion", "learned", "--ranker", str(ranker), "--signal-file", f"lightgbm={path}", "--json"],
        check=True, capture_output=True, text=True, cwd=REPO,
    )
    out = json.loads(report.stdout)
    importance = dict(zip(names, (int(v) for v in model.feature_importance("gain"))))
    out["lightgbm"] = {
        "version": lgb.__version__,
        "params": {**PARAMS, "rounds": ROUNDS, "early_stopping_patience": PATIENCE},
        "trees": best,
        "early_stopping_ndcg@10_lightgbm_definition": stop_ndcg,
        "fit_seconds": fit_seconds,
        "features": names,
        "feature_gain": importance,
        "train_shoppers": int(g_fit.size),
        "early_stopping_shoppers": int(g_stop.size),
        "recfuse_train": train_report,
        "recfuse_args": data,
        "train_args": args.train_args,
    }
    Path(args.out).write_text(json.dumps(out, indent=2) + "\n")
    for row in out["results"]:
        if row["name"] in ("learned", "lightgbm", "fused"):
            m = row["metrics"]["ndcg@10"]
            log(f"{row['name']:<10} ndcg@10 {m['value']:.4f} [{m['ci'][0]:.4f}, {m['ci'][1]:.4f}]")


if __name__ == "__main__":
    main()
