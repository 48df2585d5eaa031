"""Stage 3 of benches/scale/run_spark.sh: Spark applies RecFuse's exported fusion to every shopper.

Registers the tables the exported query reads (see its header) and runs it as it is:
  scores(user_id, item_id, signal, score): stage 1's folder, its signals named as RecFuse
      names them (`--signal-file spark=DIR` → `spark_als`, `spark_popularity`);
  seen(user_id, item_id): every (shopper, item) of the events (RecFuse leaves out items a
      shopper interacted with, any event type).
Writes OUT (Parquet part files): user_id, rank, item_id, score — the top K of every shopper.

Install: see spark_common.py.
Usage: spark_apply.py DATA_DIR SCORES_DIR FUSION_SQL OUT [--prefix spark] [--timings FILE]
"""

import argparse

from pyspark.sql import functions as F

from spark_common import Stopwatch, session


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("data")
    ap.add_argument("scores")
    ap.add_argument("sql")
    ap.add_argument("out")
    ap.add_argument("--prefix", default="spark", help="the NAME of --signal-file NAME=DIR")
    ap.add_argument("--timings", default=None)
    args = ap.parse_args()

    spark = session("recfuse-apply-profile")
    watch = Stopwatch()
    scores = spark.read.parquet(args.scores).select(
        F.col("user_id").cast("string"),
        F.col("item_id").cast("string"),
        F.concat(F.lit(f"{args.prefix}_"), F.col("signal")).alias("signal"),
        F.col("score").cast("double"),
    )
    scores.createOrReplaceTempView("scores")
    events = spark.read.parquet(f"{args.data}/events.parquet")
    events.select(F.col("user_id").cast("string"), F.col("item_id").cast("string")).distinct().createOrReplaceTempView(
        "seen"
    )
    with open(args.sql) as f:
        query = f.read()
    result = spark.sql(query)
    result.write.mode("overwrite").parquet(args.out)
    watch.lap("fusion query (every shopper) + write")
    written = spark.read.parquet(args.out)
    rows = written.count()
    shoppers = written.select("user_id").distinct().count()
    print(f"  {rows} rows for {shoppers} shoppers")
    if args.timings:
        watch.write(args.timings, rows=rows, shoppers=shoppers)
    spark.stop()


if __name__ == "__main__":
    main()
