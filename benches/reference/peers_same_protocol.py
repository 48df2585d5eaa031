#!/usr/bin/env python3
"""Peers on RecFuse's own evaluation protocol (issue #13, deliverable 8): Python `implicit`'s
ALS (tuned on validation), item-KNN (neighbourhood tuned on validation), BPR and popularity,
trained on exactly the events `recfuse eval` fits on and measured by `recfuse eval` itself.

Install (exact command):
    python3 -m venv /tmp/venv-quality && /tmp/venv-quality/bin/pip install \
        implicit==0.7.3 numpy scipy polars==2.1.0 pandas pyarrow

Usage (from the repository root; the arguments after `--` are `recfuse eval`'s data options):
    OPENBLAS_NUM_THREADS=1 /tmp/venv-quality/bin/python benches/reference/peers_same_protocol.py \
        --out docs/results/peers_sample.json [--recfuse BIN] [--tuning EVAL_TUNE.json] -- \
        --catalogue sample_data/online_retail/catalogue.csv --behaviour sample_data/online_retail/events.csv

How the protocol is shared rather than re-implemented:
1. `recfuse eval DATA --export-split DIR` writes the split `recfuse eval DATA` evaluates: per phase
   (validation = fitted on train minus validation, scored on validation; test = fitted on train,
   scored on test) the positive net summed event weight of every (shopper, item) of the fitting
   events, each evaluated shopper's relevant items and excluded items (every training interaction),
   the popularity tie order and the duplicate groups (src/eval/export.rs).
2. Each peer is fitted on the validation phase's matrix, its settings are chosen by NDCG@10 on
   the validation phase's shoppers (scored here: excluded items left out, duplicates collapsed,
   ties by the exported popularity then item id, binary NDCG with the ideal over min(|R|, 10) —
   RecFuse's definitions, src/eval/metrics.rs and fusion::top_k_fused), then refitted on the
   test phase's matrix with the kept settings.
3. Each peer's scores of the test shoppers (its top `candidates_per_signal` non-excluded items
   per shopper, shifted to be positive; order and ties unchanged) are imported into
   `recfuse eval DATA --signal-file implicit_NAME=FILE` as external signals: RecFuse then builds
   the lists and measures them exactly like its own signals — the same candidates, exclusions,
   duplicate collapsing, tie order, metrics and bootstrap intervals (1,000 resamples, seed 42) —
   and the output JSON has RecFuse's shape, with one `signal` row per peer (`implicit_als`,
   `implicit_knn`, `implicit_bpr`, `implicit_pop`) next to RecFuse's own rows. With `--tuning`
   (an `eval --tune --json` output of the same data) RecFuse's ALS runs at the λ and α RecFuse's
   own validation tuning kept, so its `als` row is "RecFuse's ALS tuned on validation".
   The script also prints its own test NDCG@10 of each peer as a cross-check of step 2's scoring.

Peers' inputs: every (shopper, item) with a positive net weight of the fitting events; ALS tries
the binary matrix and ln(1 + weight) (RecFuse's ALS default transform), item-KNN and BPR the
binary matrix, popularity counts the item's training shoppers. Items without training
interactions are not recommended by the peers (they cannot be relevant).
"""

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
warnings.filterwarnings("ignore", message="Method expects CSR input")

import implicit  # noqa: E402
import numpy as np  # noqa: E402
import polars as pl  # noqa: E402
import scipy.sparse as sp  # noqa: E402
from implicit.cpu.als import AlternatingLeastSquares  # noqa: E402
from implicit.cpu.bpr import BayesianPersonalizedRanking  # noqa: E402
from implicit.nearest_neighbours import CosineRecommender  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
K = 10
ALS_LAMBDAS = [0.05, 1.0, 5.0]
ALS_ALPHAS = [0.25, 1.0, 4.0, 16.0]
ALS_INPUTS = ["binary", "log"]
KNN_NEIGHBOURS = [25, 50, 100, 200]
FACTORS, ITERS, CG_STEPS = 64, 15, 3


def recfuse_binary(explicit):
    if explicit:
        return explicit
    if os.environ.get("RECFUSE_BIN"):
        return os.environ["RECFUSE_BIN"]
    return str(Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target")) / "release" / "recfuse")


def log(msg):
    print(msg, file=sys.stderr, flush=True)


class Phase:
    """One phase of the exported split: the fitting matrix and the evaluated shoppers."""

    def __init__(self, directory, name):
        d = Path(directory)
        items = pl.read_parquet(d / f"{name}_items.parquet")
        self.items = items["item"].to_list()
        self.item_index = {i: k for k, i in enumerate(self.items)}
        self.popularity = items["popularity"].to_numpy().astype(np.float64)
        groups = items["group"].to_list()
        self.group = np.array([self.item_index[g] for g in groups], dtype=np.int64)
        # Position of each item id in text order: the last tie-breaker.
        self.id_rank = np.empty(len(self.items), dtype=np.int64)
        self.id_rank[np.argsort(np.array(self.items, dtype=object), kind="stable")] = np.arange(len(self.items))
        train = pl.read_parquet(d / f"{name}_train.parquet")
        users = sorted(set(train["user"].to_list()))
        evals = pl.read_parquet(d / f"{name}_eval.parquet")
        users = sorted(set(users) | set(evals["user"].to_list()))
        self.users = users
        self.user_index = {u: k for k, u in enumerate(users)}
        u = np.array([self.user_index[x] for x in train["user"].to_list()], dtype=np.int32)
        i = np.array([self.item_index[x] for x in train["item"].to_list()], dtype=np.int32)
        v = train["value"].to_numpy().astype(np.float32)
        shape = (len(users), len(self.items))
        self.value = sp.csr_matrix((v, (u, i)), shape=shape)
        self.binary = sp.csr_matrix((np.ones_like(v), (u, i)), shape=shape)
        self.known = np.asarray(self.binary.sum(axis=0)).ravel() > 0
        self.eval_users, self.relevant, self.excluded = [], [], []
        per_user = {}
        for user, item, kind in zip(evals["user"].to_list(), evals["item"].to_list(), evals["kind"].to_list()):
            rel, exc = per_user.setdefault(user, (set(), set()))
            (rel if kind == "relevant" else exc).add(self.item_index[item])
        for user in sorted(per_user):
            rel, exc = per_user[user]
            self.eval_users.append(self.user_index[user])
            self.relevant.append(rel)
            self.excluded.append(np.array(sorted(exc), dtype=np.int64))
        self.eval_users = np.array(self.eval_users, dtype=np.int64)


def ordered(phase, scores, n, collapse):
    """Best-first item indices of one shopper (excluded and unknown items already -inf)."""
    finite = np.flatnonzero(np.isfinite(scores))
    order = finite[np.lexsort((phase.id_rank[finite], -phase.popularity[finite], -scores[finite]))]
    if not collapse:
        return order[:n]
    out, seen = [], set()
    for j in order:
        g = phase.group[j]
        if g in seen:
            continue
        seen.add(g)
        out.append(j)
        if len(out) == n:
            break
    return np.array(out, dtype=np.int64)


def user_scores(phase, score_fn, row):
    s = np.asarray(score_fn(row), dtype=np.float64).copy()
    s[~phase.known] = -np.inf
    s[phase.excluded[row]] = -np.inf
    return s


def ndcg_at_k(top, rel, k=K):
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    hits = np.array([int(i) in rel for i in top[:k]], dtype=bool)
    dcg = float(discounts[: hits.size][hits].sum())
    idcg = float(discounts[: min(len(rel), k)].sum())
    return dcg / idcg


def mean_ndcg(phase, score_fn, collapse):
    values = [
        ndcg_at_k(ordered(phase, user_scores(phase, score_fn, r), K, collapse), phase.relevant[r])
        for r in range(len(phase.eval_users))
    ]
    return float(np.mean(values)) if values else 0.0


# --- the peers: each returns score_fn(row) -> scores of every item for eval shopper `row` ---


def fit_als(phase, lam, alpha, inputs):
    x = phase.binary if inputs == "binary" else phase.value.log1p()
    model = AlternatingLeastSquares(
        factors=FACTORS, regularization=lam, alpha=alpha, iterations=ITERS, use_cg=True,
        calculate_training_loss=False, random_state=42, num_threads=0,
    )
    model.cg_steps = CG_STEPS
    model.fit(x.astype(np.float32).tocsr(), show_progress=False)
    U, V = np.asarray(model.user_factors), np.asarray(model.item_factors)
    return lambda r: V @ U[phase.eval_users[r]]


def fit_knn(phase, neighbours):
    model = CosineRecommender(K=neighbours, num_threads=0)
    model.fit(phase.binary.astype(np.float32).tocsr(), show_progress=False)
    sim = model.similarity.tocsr()
    rows = phase.binary[phase.eval_users]
    scores = (rows @ sim).tocsr()
    return lambda r: scores[r].toarray().ravel()


def fit_bpr(phase):
    model = BayesianPersonalizedRanking(
        factors=FACTORS, learning_rate=0.01, regularization=0.01, iterations=100, random_state=42, num_threads=0,
    )
    model.fit(phase.binary.astype(np.float32).tocsr(), show_progress=False)
    U, V = np.asarray(model.user_factors), np.asarray(model.item_factors)
    return lambda r: V @ U[phase.eval_users[r]]


def fit_pop(phase):
    counts = np.asarray(phase.binary.sum(axis=0)).ravel().astype(np.float64)
    return lambda r: counts


def tune(name, grid, fit, validation, collapse):
    trials = []
    for setting in grid:
        started = time.perf_counter()
        score = mean_ndcg(validation, fit(validation, **setting), collapse)
        trials.append({**setting, "validation_ndcg@10": score, "seconds": time.perf_counter() - started})
        log(f"  {name} {setting}: validation ndcg@10 {score:.4f}")
    return max(trials, key=lambda t: t["validation_ndcg@10"]), trials


def write_scores(path, phase, score_fn, n, collapse):
    """The shopper's top `n` non-excluded items with scores shifted to be positive."""
    users, items, values = [], [], []
    for r in range(len(phase.eval_users)):
        s = user_scores(phase, score_fn, r)
        top = ordered(phase, s, n, False)
        if top.size == 0:
            continue
        v = s[top]
        lo, hi = float(v.min()), float(v.max())
        if lo <= 0:
            v = v - lo + max(hi - lo, 1.0) * 1e-3
        name = phase.users[phase.eval_users[r]]
        users.extend([name] * top.size)
        items.extend(phase.items[j] for j in top)
        values.extend(v.tolist())
    pl.DataFrame({"user_id": users, "item_id": items, "score": values}).write_csv(path)


def recfuse_als_session(tuning_json, directory):
    """A session file with the ALS λ and α RecFuse's own validation tuning kept."""
    report = json.loads(Path(tuning_json).read_text())
    kept = next(p for p in report["tuning"]["params"] if p["signal"] == "als" and p["chosen"])
    m = re.match(r"λ ([0-9.e+-]+), α ([0-9.e+-]+)", kept["setting"])
    lam, alpha = float(m.group(1)), float(m.group(2))
    path = Path(directory) / "recfuse_tuned_als.json"
    path.write_text(json.dumps({"params": {"als": {"regularization": lam, "alpha": alpha}}}))
    return path, {"lambda": lam, "alpha": alpha, "validation_ndcg@10": kept["validation_ndcg"], "setting": kept["setting"]}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True, help="the JSON to write (RecFuse's eval JSON plus a `peers` key)")
    ap.add_argument("--recfuse", default=None)
    ap.add_argument("--tuning", default=None, help="an `eval --tune --json` output whose kept ALS setting to use")
    ap.add_argument("data", nargs=argparse.REMAINDER, help="-- then recfuse eval's data options")
    args = ap.parse_args()
    data = [a for a in args.data if a != "--"] if args.data[:1] == ["--"] else args.data
    binary = recfuse_binary(args.recfuse)
    tmp = Path(tempfile.mkdtemp(prefix="recfuse-peers-"))
    split_dir = tmp / "split"
    exported = subprocess.run([binary, "eval", *data, "--export-split", str(split_dir), "--json"],
                              check=True, capture_output=True, text=True, cwd=REPO)
    summary = json.loads(exported.stdout)
    collapse, n = summary["collapse_duplicates"], summary["candidates_per_signal"]
    validation, test = Phase(split_dir, "validation"), Phase(split_dir, "test")
    log(f"{len(validation.eval_users)} validation shoppers, {len(test.eval_users)} test shoppers")
    als_grid = [{"lam": lam, "alpha": a, "inputs": x} for x in ALS_INPUTS for lam in ALS_LAMBDAS for a in ALS_ALPHAS]
    knn_grid = [{"neighbours": k} for k in KNN_NEIGHBOURS]
    peers = {}
    kept_als, als_trials = tune("implicit_als", als_grid, fit_als, validation, collapse)
    kept_knn, knn_trials = tune("implicit_knn", knn_grid, fit_knn, validation, collapse)
    setting = lambda kept: {k: v for k, v in kept.items() if k not in ("validation_ndcg@10", "seconds")}  # noqa: E731
    fitted = {
        "implicit_als": (fit_als(test, **setting(kept_als)), {"kept": kept_als, "trials": als_trials}),
        "implicit_knn": (fit_knn(test, **setting(kept_knn)), {"kept": kept_knn, "trials": knn_trials}),
        "implicit_bpr": (fit_bpr(test), {"kept": {"factors": FACTORS, "learning_rate": 0.01, "regularization": 0.01,
                                                   "iterations": 100, "validation_ndcg@10": mean_ndcg(validation, fit_bpr(validation), collapse)}}),
        "implicit_pop": (fit_pop(test), {"kept": {"validation_ndcg@10": mean_ndcg(validation, fit_pop(validation), collapse)}}),
    }
    signal_args = []
    for name, (score_fn, info) in fitted.items():
        path = tmp / f"{name}.csv"
        write_scores(path, test, score_fn, n, collapse)
        signal_args += ["--signal-file", f"{name}={path}"]
        info["python_test_ndcg@10"] = mean_ndcg(test, score_fn, collapse)
        peers[name] = info
        log(f"{name}: kept {info['kept']}; test ndcg@10 scored here {info['python_test_ndcg@10']:.4f}")
    session_args, recfuse_als = [], None
    if args.tuning:
        session, recfuse_als = recfuse_als_session(args.tuning, tmp)
        session_args = ["--session", str(session)]
    report = subprocess.run([binary, "eval", *data, *session_args, *signal_args, "--json"],
                            check=True, capture_output=True, text=True, cwd=REPO)
    out = json.loads(report.stdout)
    out["peers"] = {
        "implicit": implicit.__version__,
        "protocol": "benches/reference/peers_same_protocol.py: fitted on `eval --export-split`, measured by `recfuse eval --signal-file`",
        "recfuse_eval_args": data,
        "validation_users": len(validation.eval_users),
        "test_users": len(test.eval_users),
        "recfuse_als_tuned_on_validation": recfuse_als,
        "models": peers,
    }
    Path(args.out).write_text(json.dumps(out, indent=2) + "\n")
    for row in out["results"]:
        if row["name"].startswith("implicit_") or row["name"] == "als":
            m = row["metrics"]["ndcg@10"]
            log(f"{row['name']:<14} ndcg@10 {m['value']:.4f} [{m['ci'][0]:.4f}, {m['ci'][1]:.4f}]")


if __name__ == "__main__":
    main()
