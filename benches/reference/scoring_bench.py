#!/usr/bin/env python3
"""Scoring every user against every item with ALS factors and taking the top-10: numpy vs
`recfuse bench score`, on the very same factor matrices, measured in the same run.

Install (exact command used for BENCHMARKS.md):
    python3 -m venv /work/bench_venv && /work/bench_venv/bin/pip install \
        implicit==0.7.2 numpy scipy polars pandas pyarrow

Usage (from the repository root, after `cargo build --release`):
    /work/bench_venv/bin/python benches/reference/scoring_bench.py --data retail --reps 5 [--json]

Each round (round 0 is a warm-up and is not reported) runs `recfuse bench score` (fits ALS with
3 iterations, untimed — the scoring cost does not depend on it — exports the factors and the
user × item pairs, then times: for every user with interactions, the dot product with every item,
the user's own items excluded, top-10) and then the same with numpy on the exported matrices:
`U @ V.T` in blocks of 2,048 users (float32 BLAS sgemm), own items set to -inf, `argpartition`
top-10 then sorted. Threads: numpy's BLAS uses all cores unless OPENBLAS_NUM_THREADS is set.
"""

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np

from common import fmt, machine, recfuse_binary, row_of, run_recfuse, summary


def load(directory):
    d = Path(directory)
    meta = json.loads((d / "meta.json").read_text())
    f, n_users, n_items = meta["factors"], meta["users"], meta["items"]
    U = np.fromfile(d / "user_factors.f32", dtype="<f4").reshape(n_users, f)
    V = np.fromfile(d / "item_factors.f32", dtype="<f4").reshape(n_items, f)
    # The items each user interacted with in any way (any event type, any rating): what
    # RecFuse's "exclude already-seen" leaves out. Older exports only have the positive matrix.
    prefix = "excluded" if (d / "excluded_ptr.u64").exists() else "seen"
    ptr = np.fromfile(d / f"{prefix}_ptr.u64", dtype="<u8").astype(np.int64)
    idx = np.fromfile(d / f"{prefix}_idx.u32", dtype="<u4").astype(np.int64)
    return U, V, ptr, idx


def numpy_top10(U, V, ptr, idx, users, k=10, block=2048):
    out = np.empty((len(users), k), dtype=np.int64)
    Vt = np.ascontiguousarray(V.T)
    for start in range(0, len(users), block):
        rows = users[start : start + block]
        scores = U[rows] @ Vt
        for r, u in enumerate(rows):
            scores[r, idx[ptr[u] : ptr[u + 1]]] = -np.inf
        part = np.argpartition(-scores, k, axis=1)[:, :k]
        order = np.take_along_axis(scores, part, axis=1)
        out[start : start + len(rows)] = np.take_along_axis(part, np.argsort(-order, axis=1, kind="stable"), axis=1)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default="retail")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--recfuse", default=None)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    binary = recfuse_binary(args.recfuse)
    tmp = tempfile.mkdtemp(prefix="recfuse-score-")
    rf_times, np_times = [], []
    name = ""
    for round_no in range(args.reps + 1):
        report = run_recfuse(
            binary,
            ["bench", "score", "--data", args.data, "--als-iterations", "3", "--warmup", "1", "--reps", "1",
             "--export-factors", tmp],
        )
        row = row_of(report, "score", "ALS")
        name = row["name"]
        U, V, ptr, idx = load(tmp)
        users = np.flatnonzero(np.diff(ptr) > 0)
        numpy_top10(U, V, ptr, idx, users)  # warm (page in, BLAS threads)
        t0 = time.perf_counter()
        numpy_top10(U, V, ptr, idx, users)
        t = time.perf_counter() - t0
        if round_no > 0:
            rf_times.append(row["timing"]["median_s"])
            np_times.append(t)
    rf, nt = summary(rf_times), summary(np_times)
    result = {
        "machine": machine(),
        "numpy": np.__version__,
        "task": name,
        "recfuse": rf,
        "numpy_blas": nt,
        "ratio_recfuse_over_numpy": rf["median_s"] / nt["median_s"],
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return
    m = result["machine"]
    print(f"machine: {m['cpu']} x {m['cores']} cores, numpy {np.__version__}")
    print(f"task: {name}")
    print(f"  RecFuse  {fmt(rf)}")
    print(f"  numpy    {fmt(nt)}")
    print(f"  ratio RecFuse / numpy (median): {result['ratio_recfuse_over_numpy']:.2f}x")


if __name__ == "__main__":
    main()
