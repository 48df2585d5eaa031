"""Stage 4 of benches/scale/run_spark.sh: do Spark's lists equal RecFuse's?

For every shopper RecFuse ranked (`recfuse batch` on the sample), compares the top K that
Spark's run of the exported SQL wrote with RecFuse's, item by item. A list that differs is
explained when possible: the first differing position, the two fused scores there and
whether they tie within float32 precision (RecFuse fuses in 32-bit floats, the query in
DOUBLE; equal scores order by popularity, then item id, in both).

Install: pyarrow (see spark_common.py).
Usage: compare_lists.py RECFUSE_PARQUET SPARK_DIR [--json FILE]
"""

import argparse
import glob
import json
import os

import pyarrow.parquet as pq


def lists(table):
    out = {}
    cols = table.to_pydict()
    rows = sorted(zip(cols["user_id"], cols["rank"], cols["item_id"], cols["score"]))
    for user, rank, item, score in rows:
        out.setdefault(str(user), []).append((str(item), float(score)))
    return out


def read_spark(folder):
    files = sorted(glob.glob(os.path.join(folder, "part-*.parquet")))
    tables = [pq.read_table(f) for f in files]
    import pyarrow as pa

    return pa.concat_tables(tables) if tables else None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("recfuse")
    ap.add_argument("spark")
    ap.add_argument("--json", default=None)
    args = ap.parse_args()

    ours = lists(pq.read_table(args.recfuse, columns=["user_id", "rank", "item_id", "score"]))
    spark_table = read_spark(args.spark)
    theirs = lists(spark_table.select(["user_id", "rank", "item_id", "score"]))
    identical, same_set, differ, missing = 0, 0, [], []
    max_score_gap = 0.0
    for user, mine in ours.items():
        other = theirs.get(user)
        if other is None:
            missing.append(user)
            continue
        a = [i for i, _ in mine]
        b = [i for i, _ in other]
        for (_, x), (_, y) in zip(mine, other):
            max_score_gap = max(max_score_gap, abs(x - y))
        if a == b:
            identical += 1
            continue
        if sorted(a) == sorted(b):
            same_set += 1
        pos = next((k for k, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
        ra = mine[pos][1] if pos < len(mine) else None
        rb = other[pos][1] if pos < len(other) else None
        tie = ra is not None and rb is not None and abs(ra - rb) <= 1e-6 * max(abs(ra), abs(rb), 1e-30)
        differ.append(
            {
                "user_id": user,
                "position": pos + 1,
                "recfuse": a,
                "spark": b,
                "recfuse_score": ra,
                "spark_score": rb,
                "tie_within_f32": tie,
            }
        )
    n = len(ours)
    report = {
        "shoppers_compared": n,
        "identical_lists": identical,
        "agreement": identical / n if n else None,
        "differing_lists": len(differ),
        "differing_same_items": same_set,
        "differing_explained_by_ties": sum(1 for d in differ if d["tie_within_f32"]),
        "missing_in_spark": len(missing),
        "spark_shoppers": len(theirs),
        "max_abs_score_difference_same_position": max_score_gap,
        "examples": differ[:10],
    }
    print(json.dumps({k: v for k, v in report.items() if k != "examples"}, indent=2))
    for d in differ[:5]:
        print(
            f"  {d['user_id']}: first difference at {d['position']}: RecFuse {d['recfuse_score']} vs Spark "
            f"{d['spark_score']} (tie within float32: {d['tie_within_f32']})"
        )
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=2)


if __name__ == "__main__":
    main()
