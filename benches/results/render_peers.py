#!/usr/bin/env python3
"""Prints RESULTS.md's peer tables (issue #13) from docs/results/peers_*.json
(written by benches/reference/peers_same_protocol.py through benches/results/run_results.sh).

Usage: render_peers.py [docs/results]
"""
import json
import sys
from pathlib import Path

DATASETS = [
    ("sample", "Sample (bundled)"),
    ("retail", "Full Online Retail"),
    ("ml_leave5", "MovieLens leave-last-5"),
    ("ml_temporal", "MovieLens temporal"),
    ("cj", "Complete Journey"),
    ("retail300", "300 Online Retail shoppers (cut)"),
    ("ml100_leave5", "100 MovieLens users, leave-last-5 (cut)"),
    ("ml100_temporal", "100 MovieLens users, temporal (cut)"),
]
PEERS = ["implicit_als", "implicit_knn", "implicit_bpr", "implicit_pop"]


def cell(row, metric="ndcg@10"):
    m = row["metrics"][metric]
    return f"{m['value']:.4f} [{m['ci'][0]:.4f}, {m['ci'][1]:.4f}]"


def main(folder):
    runs = []
    for name, label in DATASETS:
        path = Path(folder) / f"peers_{name}.json"
        if path.exists():
            data = json.loads(path.read_text())
            runs.append((label, data, {r["name"]: r for r in data["results"]}))
    print("| data (test / validation shoppers) | RecFuse ALS, tuned on validation | implicit ALS, tuned on validation "
          "| RecFuse ÷ implicit | implicit item-KNN | implicit BPR | implicit popularity | within 2 % |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for label, data, rows in runs:
        peers = data["peers"]
        ours = peers["recfuse_als_tuned_on_validation"]
        setting = f" ({ours['setting']})" if ours else " (defaults)"
        als, knn = peers["models"]["implicit_als"]["kept"], peers["models"]["implicit_knn"]["kept"]
        a, i = rows["als"]["metrics"]["ndcg@10"]["value"], rows["implicit_als"]["metrics"]["ndcg@10"]["value"]
        ratio = f"{a / i:.3f}" if i else "–"
        met = "–" if not i else ("yes" if a >= 0.98 * i else "**no**")
        print(f"| {label} ({data['users_evaluated']} / {peers['validation_users']}) | {cell(rows['als'])}{setting} | "
              f"{cell(rows['implicit_als'])} (λ {als['lam']:g}, α {als['alpha']:g}, {als['inputs']}) | {ratio} | "
              f"{cell(rows['implicit_knn'])} (K {knn['neighbours']}) | {cell(rows['implicit_bpr'])} | "
              f"{cell(rows['implicit_pop'])} | {met} |")
    print("\n| data | RecFuse ALS recall@10 | implicit ALS | item-KNN | BPR | popularity |")
    print("| --- | --- | --- | --- | --- | --- |")
    for label, _, rows in runs:
        print(f"| {label} | " + " | ".join(cell(rows[n], "recall@10") for n in ["als", *PEERS]) + " |")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "docs/results")
