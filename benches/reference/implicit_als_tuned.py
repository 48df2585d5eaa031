#!/usr/bin/env python3
"""ALS tuned on validation, RecFuse vs Python `implicit`, on the peer-baseline protocol
(../shared/reference/PEER-BASELINES.md, as in implicit_als_bench.py): issue #13's goal "RecFuse's
ALS within 2 % of validation-tuned implicit ALS NDCG@10".

Install (exact command):
    python3 -m venv /tmp/venv-quality && /tmp/venv-quality/bin/pip install \
        implicit==0.7.3 numpy scipy polars pandas pyarrow

Usage (from benches/reference/):
    OPENBLAS_NUM_THREADS=1 /tmp/venv-quality/bin/python implicit_als_tuned.py --dataset retail \
        [--recfuse PATH] [--json]

Protocol: the test split of the peer protocol (temporal 90 % cut, train items only, the shopper's
train items excluded, ties to the lower item index, binary NDCG@10); validation = the same rule
applied inside train. Both libraries try the same grid, λ ∈ {0.05, 1, 5} × α ∈ {0.25, 1, 4, 16},
64 factors, 15 iterations, CG 3 steps, fitted on train minus validation and scored on validation;
each keeps its best setting, is refitted on train with it and scored on test. Each library keeps
its own confidence formula at the same α: `implicit` c = α·count, RecFuse c = 1 + α·count
(`--als-transform raw --als-alpha α/8`, a purchase row weighing 8).
"""

import argparse
import sys
import json
import os
import tempfile

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import implicit  # noqa: E402
import numpy as np  # noqa: E402
from implicit.cpu.als import AlternatingLeastSquares  # noqa: E402

from common import (  # noqa: E402
    Split,
    machine,
    metrics,
    peer_interactions,
    rank_top_k,
    read_recfuse_factors,
    recfuse_binary,
    run_recfuse,
)

FACTORS, ITERS, CG_STEPS = 64, 15, 3
LAMBDAS = [0.05, 1.0, 5.0]
ALPHAS = [0.25, 1.0, 4.0, 16.0]


def implicit_ndcg(split, lam, alpha):
    model = AlternatingLeastSquares(
        factors=FACTORS, regularization=lam, alpha=alpha, iterations=ITERS, use_cg=True,
        calculate_training_loss=False, random_state=42, num_threads=0,
    )
    model.cg_steps = CG_STEPS
    model.fit(split.counts.astype(np.float32), show_progress=False)
    U, V = np.asarray(model.user_factors), np.asarray(model.item_factors)
    return metrics(rank_top_k(U[split.eval_users], V, split), split)


def recfuse_ndcg(binary, split, lam, alpha, tmp):
    csv = os.path.join(tmp, "train.csv")
    split.write_recfuse_csv(csv)
    out = os.path.join(tmp, "factors")
    run_recfuse(binary, [
        "bench", "fit", "--signal", "als", "--data", csv, "--warmup", "0", "--reps", "1",
        "--als-factors", str(FACTORS), "--als-regularization", str(lam), "--als-iterations", str(ITERS),
        "--als-cg-steps", str(CG_STEPS), "--als-transform", "raw", "--als-alpha", str(alpha / 8.0),
        "--export-factors", out,
    ])
    U, V = read_recfuse_factors(out, split)
    return metrics(rank_top_k(U[split.eval_users], V, split), split)


def tune(name, score, inner, outer):
    trials = []
    for lam in LAMBDAS:
        for alpha in ALPHAS:
            m = score(inner, lam, alpha)
            trials.append({"lambda": lam, "alpha": alpha, "validation_ndcg@10": m["ndcg@10"]})
            print(f"  {name:<8} λ {lam:<5} α {alpha:<5} validation ndcg@10 {m['ndcg@10']:.4f}", file=sys.stderr, flush=True)
    best = max(trials, key=lambda t: t["validation_ndcg@10"])
    test = score(outer, best["lambda"], best["alpha"])
    default = score(outer, 0.05, 1.0)
    return {"trials": trials, "kept": best, "test": test, "test_at_lambda_0.05_alpha_1": default}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", default="retail", choices=["retail", "sample", "movielens"])
    ap.add_argument("--recfuse", default=None)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    binary = recfuse_binary(args.recfuse)
    outer = Split(peer_interactions(args.dataset))
    inner = Split(outer.train_rows)
    print(f"{args.dataset}: {len(inner.relevant)} validation users, {len(outer.relevant)} test users", file=sys.stderr, flush=True)
    tmp = tempfile.mkdtemp(prefix="recfuse-als-tuned-")
    result = {
        "machine": machine(),
        "implicit": implicit.__version__,
        "dataset": args.dataset,
        "validation_users": len(inner.relevant),
        "test_users": len(outer.relevant),
        "implicit_als": tune("implicit", implicit_ndcg, inner, outer),
        "recfuse_als": tune("recfuse", lambda s, lam, a: recfuse_ndcg(binary, s, lam, a, tmp), inner, outer),
    }
    imp, rf = result["implicit_als"]["test"]["ndcg@10"], result["recfuse_als"]["test"]["ndcg@10"]
    result["recfuse_over_implicit_test_ndcg"] = rf / imp if imp else None
    if args.json:
        print(json.dumps(result, indent=2))
        return
    for name in ("implicit_als", "recfuse_als"):
        r = result[name]
        print(f"{name}: kept λ {r['kept']['lambda']} α {r['kept']['alpha']} (validation "
              f"{r['kept']['validation_ndcg@10']:.4f}); test ndcg@10 {r['test']['ndcg@10']:.4f} "
              f"(at λ 0.05, α 1: {r['test_at_lambda_0.05_alpha_1']['ndcg@10']:.4f})")
    print(f"RecFuse / implicit, test NDCG@10 of the tuned ALS: {result['recfuse_over_implicit_test_ndcg']:.3f}")


if __name__ == "__main__":
    main()
