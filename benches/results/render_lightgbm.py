#!/usr/bin/env python3
"""Prints RESULTS.md's learned-ranker-versus-LightGBM table (issue #15) from
docs/results/lightgbm_*.json (benches/reference/lightgbm_reference.py via run_results.sh).

Usage: render_lightgbm.py [docs/results]
"""
import json
import sys
from pathlib import Path

RUNS = [
    ("sample", "sample"), ("retail", "full Online Retail"), ("ml_leave5", "MovieLens leave-last-5"),
]


def cell(row, metric="ndcg@10"):
    m = row["metrics"][metric]
    return f"{m['value']:.4f} [{m['ci'][0]:.4f}, {m['ci'][1]:.4f}]"


def main(folder):
    print("| data (test shoppers; fit / early-stopping shoppers) | ranker features | best single signal | learned (test) "
          "| LightGBM LambdaMART (test; kept setting, trees) | learned ÷ LightGBM | learned ≥ LightGBM |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for suffix, features in (("", "signals + cheap + embeddings"), ("_no_embeddings", "signals + cheap")):
        for name, label in RUNS:
            path = Path(folder) / f"lightgbm_{name}{suffix}.json"
            if not path.exists():
                continue
            data = json.loads(path.read_text())
            rows = {r["name"]: r for r in data["results"]}
            signals = [r for r in data["results"] if r["kind"] == "signal" and r["name"] != "lightgbm"]
            best = max(signals, key=lambda r: r["metrics"]["ndcg@10"]["value"])
            lg = data["lightgbm"]
            p = lg["params"]
            kept = f"{p['num_leaves']} leaves, lr {p['learning_rate']}, min leaf {p['min_data_in_leaf']}, {lg['trees']} trees"
            a = rows["learned"]["metrics"]["ndcg@10"]["value"]
            b = rows["lightgbm"]["metrics"]["ndcg@10"]["value"]
            print(f"| {label} ({data['users_evaluated']}; {lg['train_shoppers']} / {lg['early_stopping_shoppers']}) | "
                  f"{features} | {best['name']} {cell(best)} | {cell(rows['learned'])} | {cell(rows['lightgbm'])} ({kept}) | "
                  f"{a / b:.2f} | {'yes' if a >= b else '**no**'} |")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "docs/results")
