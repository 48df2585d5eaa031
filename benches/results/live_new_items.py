#!/usr/bin/env python3
"""Live new items on full Online Retail, end to end through `recfuse watch`.

The log (no catalogue file: items are derived from it) is sorted by time and cut at 90 %.
`recfuse watch` loads and fits the first 90 %, then the last 10 % is appended to the file
in batches of 1,000 rows, 0.6 s apart (the watcher polls every 250 ms), so that items first
sold in the last 10 % arrive while it runs. From its notes this prints, per batch, the
fold-in time and the new items it added; then it times what a reload of the grown file
costs (`recfuse recommend`: load, fit, rank) and compares the two top-10 lists of the
watched shopper (the one with most rows in the last 10 %).

Standard library only:
    python3 benches/results/live_new_items.py target/release/recfuse \
        ../shared/data/online_retail/online_retail.csv.gz docs/results/live_new_items_retail.json
"""

import csv
import gzip
import json
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

BATCH = 1000
GAP_S = 0.6


def main() -> None:
    recfuse, source, out = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
    with gzip.open(source, "rt", newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        header = next(reader)
        rows = list(reader)
    t = header.index("InvoiceDate")
    rows.sort(key=lambda r: r[t])  # ISO dates: text order is time order; the sort is stable
    cut = len(rows) * 9 // 10
    head, tail = rows[:cut], rows[cut:]
    item, user = header.index("StockCode"), header.index("CustomerID")
    seen = {r[item].strip() for r in head}
    new_ids = {r[item].strip() for r in tail} - seen
    # Rows without a customer id are dropped by the loader (no shopper): their items never arrive.
    seen_with_shopper = {r[item].strip() for r in head if r[user].strip()}
    new_ids_with_shopper = {r[item].strip() for r in tail if r[user].strip()} - seen_with_shopper
    watched = Counter(r[user] for r in tail if r[user].strip()).most_common(1)[0][0]
    work = Path(tempfile.mkdtemp(prefix="live-new-items-"))
    log = work / "online_retail_live.csv"
    with open(log, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        w.writerows(head)
    err_path, out_path = work / "watch.err", work / "watch.jsonl"
    # Both streams go to files: a pipe nobody reads while rows are appended would fill up and
    # stall the watcher on its next printed list.
    with open(err_path, "w") as err, open(out_path, "w") as listed:
        watch = subprocess.Popen(
            [recfuse, "watch", "--behaviour", str(log), "--user", watched, "--json", "--no-semantic",
             "--refit-after", "0", "--idle-exit", "15"],
            stdout=listed, stderr=err, text=True)
        started = time.time()
        while not out_path.read_text(encoding="utf-8").strip():
            if watch.poll() is not None:
                sys.exit(f"recfuse watch ended before its first list: {err_path.read_text()}")
            time.sleep(0.05)
        load_fit_s = time.time() - started
        for a in range(0, len(tail), BATCH):
            with open(log, "a", newline="", encoding="utf-8") as f:
                csv.writer(f, lineterminator="\n").writerows(tail[a:a + BATCH])
            time.sleep(GAP_S)
        watch.wait(timeout=120)
    lines = [l for l in out_path.read_text(encoding="utf-8").splitlines() if l.strip()]
    notes = err_path.read_text(encoding="utf-8")
    folds = [float(m) for m in re.findall(r"folded in in ([0-9.]+) ms", notes)]
    added = [int(m) for m in re.findall(r"note: ([0-9]+) new items? \(", notes)]
    last = json.loads(lines[-1])
    live_top = [i["item_id"] for i in last["items"]]
    # What a reload costs: load, fit and rank the grown file from scratch.
    started = time.time()
    fresh = subprocess.run(
        [recfuse, "recommend", "--behaviour", str(log), "--user", watched, "--json", "--no-semantic", "--top", "10"],
        capture_output=True, text=True, check=True)
    reload_s = time.time() - started
    fresh_top = [i["item_id"] for i in json.loads(fresh.stdout)["items"]]
    result = {
        "command": " ".join(sys.argv),
        "rows": len(rows),
        "fitted_rows": len(head),
        "appended_rows": len(tail),
        "batches_folded": len(folds),
        "new_item_ids_in_appended_rows": len(new_ids),
        "new_item_ids_in_appended_rows_with_a_shopper": len(new_ids_with_shopper),
        "new_items_added_live": sum(added),
        "fold_in_ms_median": statistics.median(folds) if folds else None,
        "fold_in_ms_max": max(folds) if folds else None,
        "fold_in_ms_batches_with_new_items": None,
        "first_list_after_s": round(load_fit_s, 2),
        "reload_recommend_s": round(reload_s, 2),
        "watched_shopper": watched,
        "top10_live": live_top,
        "top10_reload": fresh_top,
        "top10_overlap": len(set(live_top) & set(fresh_top)),
        "notes_tail": notes.splitlines()[-6:],
    }
    # Fold-in times of the batches that added items (each such note precedes its fold note).
    per_batch, pending = [], False
    for line in notes.splitlines():
        if re.search(r"new items? \(.*added to the catalogue", line):
            pending = True
        m = re.search(r"folded in in ([0-9.]+) ms", line)
        if m:
            if pending:
                per_batch.append(float(m.group(1)))
            pending = False
    result["fold_in_ms_batches_with_new_items"] = statistics.median(per_batch) if per_batch else None
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
