#!/usr/bin/env python3
"""Independent reference for RecFuse's ranking metrics (src/eval/metrics.rs).

Install:  pip install numpy          (tested with numpy 2.4, Python 3.11+)

Usage (from the repository root):
  python benches/reference/metrics_reference.py generate   # writes tests/fixtures/metrics_reference.json
  python benches/reference/metrics_reference.py compute    # writes tests/fixtures/metrics_reference_expected.json

`generate` draws ~200 users of random ranked lists and relevance (fixed seed): binary and
graded gains, users with |R| > 10, users with no hits, lists shorter than K, one empty list.
`compute` reads the fixture and computes, with numpy and without any RecFuse code, per user
and per K: precision = hits/K, recall = hits/|R|, F1, hit rate, reciprocal rank,
AP@K (normalised by min(|R|, K)), NDCG@K with the user's gains (graded or binary) and NDCG@K
with binary gains; DCG = sum gain / log2(rank + 1), ideal DCG over the top min(|R|, K) gains.
The Rust test tests/eval_metrics.rs reads both files and checks agreement to 1e-9.
"""

import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "tests" / "fixtures" / "metrics_reference.json"
EXPECTED = ROOT / "tests" / "fixtures" / "metrics_reference_expected.json"
SEED = 20240607
N_USERS = 200
N_ITEMS = 400
KS = [1, 3, 5, 10, 20]


def generate():
    rng = np.random.default_rng(SEED)
    users = []
    for u in range(N_USERS):
        length = int(rng.choice([3, 7, 10, 10, 10, 15, 20, 30]))
        if u == 7:
            length = 0  # one empty list: every metric is 0
        ranked = rng.choice(N_ITEMS, size=length, replace=False)
        n_rel = int(rng.integers(1, 26))  # |R| in 1..25, often > 10
        no_hits = rng.random() < 0.2
        if no_hits or length == 0:
            pool = np.setdiff1d(np.arange(N_ITEMS), ranked)
            relevant = rng.choice(pool, size=n_rel, replace=False)
        else:
            # Some relevant items from the list (hits at random ranks), the rest elsewhere.
            n_in = int(rng.integers(1, min(n_rel, length) + 1))
            inside = rng.choice(ranked, size=n_in, replace=False)
            pool = np.setdiff1d(np.arange(N_ITEMS), ranked)
            outside = rng.choice(pool, size=n_rel - n_in, replace=False)
            relevant = np.concatenate([inside, outside])
        graded = bool(rng.random() < 0.5)
        if graded:
            # Event-weight-like gains: small integers and arbitrary positive reals.
            gains = np.where(
                rng.random(n_rel) < 0.5,
                rng.integers(1, 6, size=n_rel).astype(float),
                rng.uniform(0.05, 5.0, size=n_rel),
            )
        else:
            gains = np.ones(n_rel)
        order = rng.permutation(n_rel)  # relevance given in no particular order
        users.append(
            {
                "user": u,
                "graded": graded,
                "ranked": [int(i) for i in ranked],
                "relevance": [[int(relevant[j]), float(gains[j])] for j in order],
            }
        )
    write_json(FIXTURE, {"seed": SEED, "n_items": N_ITEMS, "ks": KS}, users)


def write_json(path, header, users):
    """Writes `header` plus a "users" array with one user per line (small, diff-friendly)."""
    head = json.dumps(header)[:-1]
    rows = ",\n".join(json.dumps(u) for u in users)
    path.write_text(f'{head}, "users": [\n{rows}\n]}}\n')


def ndcg_at_k(top, gain_of, k):
    gains = np.array([gain_of.get(i, 0.0) for i in top], dtype=np.float64)
    discounts = 1.0 / np.log2(np.arange(2, gains.size + 2, dtype=np.float64))
    dcg = float(np.dot(gains, discounts)) if gains.size else 0.0
    ideal = np.sort(np.array(list(gain_of.values()), dtype=np.float64))[::-1][:k]
    idcg = float(np.sum(ideal / np.log2(np.arange(2, ideal.size + 2, dtype=np.float64))))
    return dcg / idcg if idcg > 0 else 0.0


def user_metrics(ranked, gain_of, k):
    top = np.array(ranked[:k], dtype=np.int64)
    is_rel = np.array([int(i) in gain_of for i in top], dtype=bool)
    ranks = np.arange(1, top.size + 1, dtype=np.float64)
    n_hits = int(is_rel.sum())
    precision = n_hits / k
    recall = n_hits / len(gain_of)
    f1 = 2 * precision * recall / (precision + recall) if n_hits else 0.0
    rr = float(1.0 / ranks[is_rel][0]) if n_hits else 0.0
    ap = float(np.sum(np.cumsum(is_rel)[is_rel] / ranks[is_rel])) / min(len(gain_of), k)
    binary = {i: 1.0 for i in gain_of}
    return {
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "hit_rate": 1.0 if n_hits else 0.0,
        "mrr": rr,
        "map": ap,
        "ndcg": ndcg_at_k([int(i) for i in top], gain_of, k),
        "ndcg_binary": ndcg_at_k([int(i) for i in top], binary, k),
    }


def compute():
    fixture = json.loads(FIXTURE.read_text())
    out_users = []
    per_k = {str(k): [] for k in fixture["ks"]}
    for user in fixture["users"]:
        gain_of = {int(i): float(g) for i, g in user["relevance"]}
        metrics = {}
        for k in fixture["ks"]:
            m = user_metrics(user["ranked"], gain_of, k)
            metrics[str(k)] = m
            per_k[str(k)].append(m)
        out_users.append({"user": user["user"], "metrics": metrics})
    means = {
        k: {name: float(np.mean([m[name] for m in ms])) for name in ms[0]}
        for k, ms in per_k.items()
    }
    header = {
        "generated_by": "benches/reference/metrics_reference.py",
        "numpy": np.__version__,
        "means": means,
    }
    write_json(EXPECTED, header, out_users)


if __name__ == "__main__":
    command = sys.argv[1] if len(sys.argv) > 1 else "compute"
    if command == "generate":
        generate()
    elif command == "compute":
        compute()
    else:
        sys.exit(f"unknown command {command!r}; use 'generate' or 'compute'")
