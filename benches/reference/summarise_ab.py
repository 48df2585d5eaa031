#!/usr/bin/env python3
"""Summarise ab_embed_bench.sh output: best items/s per side and the ratio, as a Markdown table."""
import collections
import json
import sys

runs = collections.defaultdict(list)
for line in open(sys.argv[1], encoding="utf-8"):
    tag, r = json.loads(line)
    side = "st" if r.get("library") == "sentence-transformers" else "rf"
    key = (tag["dataset"], tag["threads_requested"], r["batch_size"])
    runs[key + (side,)].append(r["median_items_per_s"])

print("| texts | threads | batch | sentence-transformers items/s (best; all runs) | RecFuse items/s (best; all runs) | ratio (best/best) |")
print("| --- | --- | --- | --- | --- | --- |")
for key in sorted({k[:3] for k in runs}, key=lambda k: (k[0], k[1] != "1", k[2])):
    st, rf = runs.get(key + ("st",), []), runs.get(key + ("rf",), [])
    if not st or not rf:
        continue
    fmt = lambda v: f"**{max(v):.0f}**; " + ", ".join(f"{x:.0f}" for x in v)
    print(f"| {key[0]} | {key[1]} | {key[2]} | {fmt(st)} | {fmt(rf)} | {max(rf) / max(st):.2f}× |")
