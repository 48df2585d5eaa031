#!/usr/bin/env python3
"""ALS (and item-KNN) fit time and accuracy: the Python `implicit` library vs RecFuse, on the
peer-baseline protocol (../shared/reference/PEER-BASELINES.md), measured in the same run.

Install (exact command used for BENCHMARKS.md, issue #13 measurements):
    python3 -m venv /tmp/venv-quality && /tmp/venv-quality/bin/pip install \
        implicit==0.7.3 numpy scipy polars pandas pyarrow
(earlier rows: implicit==0.7.2 in /work/bench_venv)

Usage (from the repository root, after `cargo build --release`):
    OPENBLAS_NUM_THREADS=1 /work/bench_venv/bin/python benches/reference/implicit_als_bench.py \
        --dataset retail --reps 5 [--threads N] [--recfuse PATH] [--json]

`--threads N` (default 0 = all cores) limits both sides to N threads: implicit's
`num_threads=N`, RecFuse's rayon pool through `RAYON_NUM_THREADS=N` in its environment.

What runs, interleaved round by round so both see the same machine load (round 0 is a
warm-up and is not reported):
1. implicit `AlternatingLeastSquares(factors=64, regularization=0.05, alpha=1, iterations=15,
   use_cg=True)` (CG, 3 steps, f32) fitted on the train counts; wall and CPU seconds.
2. `recfuse bench fit --signal als` on the same train rows (written to a temporary CSV, every row a
   purchase), same factors / λ / iterations / CG steps. Confidence mapping: implicit uses
   c = α·count (count = train rows of the pair; 1 for unobserved pairs); RecFuse uses
   c = 1 + α'·t(value) with value = summed event weights = 8·count (a purchase weighs 8), so
   `--als-transform raw --als-alpha 0.125` gives c = 1 + count. To separate the effect of that "+1"
   from the implementation, implicit is also fitted once on 1 + count ("implicit, matched").
Accuracy: NDCG@10 etc. of all three factorisations, ranked by the same numpy code.
Item-KNN: implicit CosineRecommender(K=100) on binary train vs `recfuse bench fit --signal item_cf`
(binary, 100 neighbours): fit time only (RecFuse's item-CF accuracy is in `recfuse eval`).

Scale mode (`--scale DIR --iterations N`, DIR written by `recfuse bench generate`): RecFuse fits
ALS on all events of DIR with its defaults (c = 1 + ln(1 + summed event weight)) and exports the
matrix it fitted on; implicit is then fitted on exactly that matrix (values 1 + ln(1 + v), α = 1)
with the same factors, λ, CG steps and iterations. Each side runs once per round.
"""

import argparse
import json
import os
import tempfile
import time
import warnings

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
warnings.filterwarnings("ignore", message="Method expects CSR input")

import implicit  # noqa: E402
import numpy as np  # noqa: E402
from implicit.cpu.als import AlternatingLeastSquares  # noqa: E402
from implicit.nearest_neighbours import CosineRecommender  # noqa: E402

from common import (  # noqa: E402
    Split,
    fmt,
    machine,
    metrics,
    peer_interactions,
    rank_top_k,
    read_recfuse_factors,
    recfuse_binary,
    row_of,
    run_recfuse,
    summary,
)

FACTORS, REG, ALPHA, ITERS, CG_STEPS = 64, 0.05, 1.0, 15, 3


THREADS = 0


def fit_implicit(matrix, seed=42):
    model = AlternatingLeastSquares(
        factors=FACTORS,
        regularization=REG,
        alpha=ALPHA,
        iterations=ITERS,
        use_cg=True,
        calculate_training_loss=False,
        random_state=seed,
        num_threads=THREADS,
    )
    model.cg_steps = CG_STEPS
    wall, cpu = time.perf_counter(), time.process_time()
    model.fit(matrix, show_progress=False)
    return model, time.perf_counter() - wall, time.process_time() - cpu


def evaluate(U, V, split):
    return metrics(rank_top_k(U[split.eval_users], V, split), split)


def scale(args, binary):
    import scipy.sparse as sp
    from pathlib import Path

    tmp = Path(tempfile.mkdtemp(prefix="recfuse-als-scale-"))
    rf_times, imp_times, imp_cpu = [], [], []
    report = None
    for _ in range(args.reps):
        report = run_recfuse(
            binary,
            ["bench", "fit", "--signal", "als", "--data", args.scale, "--warmup", "0", "--reps", "1",
             "--als-iterations", str(args.iterations), "--export-factors", str(tmp)],
        )
        rf_times.append(row_of(report, "fit", "als")["timing"]["median_s"])
        meta = json.loads((tmp / "meta.json").read_text())
        ptr = np.fromfile(tmp / "seen_ptr.u64", dtype="<u8").astype(np.int64)
        idx = np.fromfile(tmp / "seen_idx.u32", dtype="<u4").astype(np.int32)
        val = np.fromfile(tmp / "seen_val.f32", dtype="<f4")
        matrix = sp.csr_matrix((1.0 + np.log1p(val), idx, ptr), shape=(meta["users"], meta["items"]))
        model = AlternatingLeastSquares(
            factors=FACTORS, regularization=REG, alpha=ALPHA, iterations=args.iterations, use_cg=True,
            calculate_training_loss=False, random_state=42, num_threads=THREADS,
        )
        model.cg_steps = CG_STEPS
        wall, cpu = time.perf_counter(), time.process_time()
        model.fit(matrix, show_progress=False)
        imp_times.append(time.perf_counter() - wall)
        imp_cpu.append(time.process_time() - cpu)
    rf, imp, cpu = summary(rf_times), summary(imp_times), summary(imp_cpu)
    result = {
        "machine": machine(),
        "implicit": implicit.__version__,
        "scale_data": args.scale,
        "dataset": report["dataset"] if report else None,
        "iterations": args.iterations,
        "recfuse_wall": rf,
        "implicit_wall": imp,
        "implicit_cpu": cpu,
        "ratio_recfuse_over_implicit": rf["median_s"] / imp["median_s"],
    }
    if args.json:
        print(json.dumps(result, indent=2, default=str))
        return
    print(f"ALS at scale ({args.scale}, {args.iterations} iterations, {args.reps} round(s)):")
    print(f"  implicit  wall {fmt(imp)}   (CPU {fmt(cpu)})")
    print(f"  RecFuse   wall {fmt(rf)}")
    print(f"  ratio RecFuse / implicit (median wall): {result['ratio_recfuse_over_implicit']:.2f}x")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scale", default=None, help="directory written by `recfuse bench generate`")
    ap.add_argument("--iterations", type=int, default=3, help="ALS iterations in --scale mode")
    ap.add_argument("--dataset", default="retail", choices=["retail", "sample", "movielens"])
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--recfuse", default=None)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--threads", type=int, default=0, help="threads of both sides (0 = all cores)")
    args = ap.parse_args()
    global THREADS
    THREADS = args.threads
    if args.threads > 0:
        os.environ["RAYON_NUM_THREADS"] = str(args.threads)
    binary = recfuse_binary(args.recfuse)
    if args.scale:
        scale(args, binary)
        return

    split = Split(peer_interactions(args.dataset))
    counts = split.counts.astype(np.float32)
    tmp = tempfile.mkdtemp(prefix="recfuse-als-")
    train_csv = os.path.join(tmp, "train.csv")
    split.write_recfuse_csv(train_csv)
    factors_dir = os.path.join(tmp, "factors")
    rf_args = [
        "bench", "fit", "--signal", "als", "--data", train_csv, "--warmup", "1", "--reps", "1",
        "--als-factors", str(FACTORS), "--als-regularization", str(REG), "--als-iterations", str(ITERS),
        "--als-cg-steps", str(CG_STEPS), "--als-transform", "raw", "--als-alpha", "0.125",
    ]

    imp_wall, imp_cpu, rf_wall = [], [], []
    model = None
    for round_no in range(args.reps + 1):
        model, wall, cpu = fit_implicit(counts)
        last = round_no == args.reps
        report = run_recfuse(binary, rf_args + (["--export-factors", factors_dir] if last else []))
        rf = row_of(report, "fit", "als")["timing"]["median_s"]
        if round_no > 0:
            imp_wall.append(wall)
            imp_cpu.append(cpu)
            rf_wall.append(rf)
    imp_t, rf_t, cpu_t = summary(imp_wall), summary(rf_wall), summary(imp_cpu)

    implicit_metrics = evaluate(np.asarray(model.user_factors), np.asarray(model.item_factors), split)
    matched = counts.copy()
    matched.data = 1.0 + matched.data
    model_m, _, _ = fit_implicit(matched)
    matched_metrics = evaluate(np.asarray(model_m.user_factors), np.asarray(model_m.item_factors), split)
    U, V = read_recfuse_factors(factors_dir, split)
    recfuse_metrics = evaluate(U, V, split)

    # Item-KNN (fit time only), interleaved the same way.
    binary_matrix = counts.copy()
    binary_matrix.data[:] = 1.0
    knn_imp, knn_rf = [], []
    knn_args = ["bench", "fit", "--signal", "item_cf", "--data", train_csv, "--warmup", "1", "--reps", "1"]
    knn_model = None
    for round_no in range(args.reps + 1):
        knn_model = CosineRecommender(K=100, num_threads=THREADS)
        t0 = time.perf_counter()
        knn_model.fit(binary_matrix, show_progress=False)
        t = time.perf_counter() - t0
        rf = row_of(run_recfuse(binary, knn_args), "fit", "item_cf")["timing"]["median_s"]
        if round_no > 0:
            knn_imp.append(t)
            knn_rf.append(rf)
    knn_scores = knn_model.similarity  # item x item
    knn_user = (split.counts[split.eval_users] > 0).astype(np.float32) @ knn_scores
    knn_metrics = metrics(_rank_dense(knn_user.toarray(), split), split)

    result = {
        "machine": machine(),
        "implicit": implicit.__version__,
        "dataset": args.dataset,
        "train_rows": split.train_rows.height,
        "train_users": len(split.users),
        "train_items": len(split.items),
        "train_pairs": int(split.counts.nnz),
        "eval_users": len(split.relevant),
        "cut_unix": split.cut,
        "threads": args.threads,
        "als": {
            "params": {"factors": FACTORS, "regularization": REG, "alpha": ALPHA, "iterations": ITERS, "cg_steps": CG_STEPS},
            "implicit_wall": imp_t,
            "implicit_cpu": cpu_t,
            "recfuse_wall": rf_t,
            "ratio_recfuse_over_implicit": rf_t["median_s"] / imp_t["median_s"],
            "metrics": {"implicit": implicit_metrics, "implicit_matched_1_plus_count": matched_metrics, "recfuse": recfuse_metrics},
        },
        "item_knn": {
            "implicit_wall": summary(knn_imp),
            "recfuse_wall": summary(knn_rf),
            "ratio_recfuse_over_implicit": summary(knn_rf)["median_s"] / summary(knn_imp)["median_s"],
            "implicit_metrics": knn_metrics,
        },
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return
    m = result["machine"]
    print(
        f"machine: {m['cpu']} x {m['cores']} cores, Python {m['python']}, implicit {implicit.__version__}, "
        f"threads {args.threads or 'all'}"
    )
    print(
        f"data: {args.dataset}: {result['train_rows']} train rows, {result['train_users']} users, "
        f"{result['train_items']} items, {result['train_pairs']} pairs; {result['eval_users']} users evaluated"
    )
    print(f"ALS fit ({args.reps} rounds after 1 warm-up, min / median / max):")
    print(f"  implicit  wall {fmt(imp_t)}   (CPU {fmt(cpu_t)})")
    print(f"  RecFuse   wall {fmt(rf_t)}")
    print(f"  ratio RecFuse / implicit (median wall): {result['als']['ratio_recfuse_over_implicit']:.2f}x")
    for name, mm in result["als"]["metrics"].items():
        print(
            f"  {name:<30} ndcg@10 {mm['ndcg@10']:.4f}  recall@10 {mm['recall@10']:.4f}  "
            f"coverage {mm['coverage@10']:.3f}"
        )
    print("item-KNN fit:")
    print(f"  implicit CosineRecommender(K=100) wall {fmt(result['item_knn']['implicit_wall'])}")
    print(f"  RecFuse item_cf (binary, 100)       wall {fmt(result['item_knn']['recfuse_wall'])}")
    print(f"  ratio RecFuse / implicit: {result['item_knn']['ratio_recfuse_over_implicit']:.2f}x")
    print(f"  implicit item-KNN ndcg@10 {knn_metrics['ndcg@10']:.4f}  recall@10 {knn_metrics['recall@10']:.4f}")


def _rank_dense(scores, split, k=10):
    scores = np.asarray(scores, dtype=np.float64)
    seen = split.counts[split.eval_users]
    rows, cols = seen.nonzero()
    scores[rows, cols] = -np.inf
    return np.argsort(-scores, axis=1, kind="stable")[:, :k]


if __name__ == "__main__":
    main()
