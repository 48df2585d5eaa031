#!/usr/bin/env python3
"""Prints the RESULTS.md table of one `recfuse eval --tune --json` output.

Usage: render_results.py docs/results/sample_eval.json
"""
import json
import sys


def cell(metric):
    lo, hi = metric["ci"]
    return f"{metric['value']:.4f} [{lo:.4f}, {hi:.4f}]"


def main(path):
    data = json.load(open(path))
    rows = data["results"]
    signals = [r for r in rows if r["kind"] == "signal"]
    best = max(signals, key=lambda r: r["metrics"]["ndcg@10"]["value"])
    header = f"{data['split']} split"
    if data.get("cut"):
        header += f" at {data['cut']} UTC"
    print(f"{header}; {data['users_evaluated']} shoppers evaluated; "
          f"{data['train_events']:,} train / {data['test_events']:,} test events.\n")
    print("| row | kind | NDCG@10 [95 % CI] | recall@10 [95 % CI] | coverage@10 [95 % CI] |")
    print("| --- | --- | --- | --- | --- |")
    for r in rows:
        name = r["name"] + (" (best signal)" if r is best else "")
        ndcg = cell(r["metrics"]["ndcg@10"])
        if r["kind"] != "signal":
            ndcg = f"**{ndcg}**"
        print(f"| {name} | {r['kind']} | {ndcg} | {cell(r['metrics']['recall@10'])} | "
              f"{cell(r['metrics']['coverage@10'])} |")
    tuned = [r for r in rows if r["kind"] == "tuned"]
    if tuned:
        weights = sorted(tuned[0]["weights"].items(), key=lambda kv: (-kv[1], kv[0]))
        listed = ", ".join(f"{k} {round(v, 2):g}" for k, v in weights if v > 0)
        print(f"\nTuned weights (found on validation): {listed}.")
    tuning = data.get("tuning")
    if tuning and tuned:
        single = tuning.get("best_single") or {}
        test_ndcg = tuned[0]["metrics"]["ndcg@10"]["value"]
        print(f"\nTuning rests on {tuning['validation_users']} validation shoppers: validation NDCG@10 "
              f"start {tuning['start_ndcg']:.4f}, searched {tuning['searched_ndcg']:.4f}, best single signal "
              f"{single.get('signal', '–')} {single.get('ndcg', float('nan')):.4f}; kept **{tuning['kept']}** "
              f"(validation {tuning['kept_validation_ndcg']:.4f}, test {test_ndcg:.4f}).")
        params = tuning.get("params") or []
        if params:
            parts = []
            for signal in dict.fromkeys(p["signal"] for p in params):
                tried = [p for p in params if p["signal"] == signal]
                current = next(p for p in tried if p["current"])
                kept = next(p for p in tried if p["chosen"])
                parts.append(f"{signal} {kept['setting']} ({kept['validation_ndcg']:.4f}; current "
                             f"{current['setting']} {current['validation_ndcg']:.4f}; {len(tried)} tried)")
            print(f"\nSignal parameters tuned on validation (each signal alone, NDCG@10): {'; '.join(parts)}.")


if __name__ == "__main__":
    main(sys.argv[1])
