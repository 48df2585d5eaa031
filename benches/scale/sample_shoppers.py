"""Stage 2a of benches/scale/run_spark.sh: the sample of shoppers RecFuse tunes and ranks on.

Takes every shopper whose position in id order is a multiple of the step (evenly spaced,
deterministic) until N are chosen, and writes their events (all of them, so each sampled
shopper's history is complete) as OUT/events.parquet and their ids as OUT/shoppers.txt.

Install: pyarrow (see spark_common.py).
Usage: sample_shoppers.py DATA_DIR OUT N
"""

import os
import sys

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq


def main():
    data, out, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    events = pq.read_table(os.path.join(data, "events.parquet"))
    # RecFuse writes text as Arrow string views; pyarrow's filter wants plain strings.
    plain = [pa.field(f.name, pa.string() if f.type == pa.string_view() else f.type) for f in events.schema]
    events = events.cast(pa.schema(plain))
    users = events.column("user_id").cast(pa.string())
    distinct = sorted(set(users.to_pylist()))
    step = max(1, len(distinct) // max(n, 1))
    chosen = distinct[::step][:n]
    mask = pc.is_in(users, value_set=pa.array(chosen, pa.string()))
    sample = events.filter(mask)
    os.makedirs(out, exist_ok=True)
    pq.write_table(sample, os.path.join(out, "events.parquet"))
    with open(os.path.join(out, "shoppers.txt"), "w") as f:
        f.write("user_id\n")
        f.writelines(u + "\n" for u in chosen)
    print(f"  {len(chosen)} of {len(distinct)} shoppers, {sample.num_rows} of {events.num_rows} events")


if __name__ == "__main__":
    main()
