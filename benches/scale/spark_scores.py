"""Stage 1 of benches/scale/run_spark.sh: per-signal scores computed by Spark MLlib.

Reads the events of a `recfuse bench generate` folder and writes, as Parquet part files in
OUT (a Spark folder: part-*.parquet, _SUCCESS), one long table
    user_id STRING, item_id STRING, signal STRING, score DOUBLE
with two signals for every shopper:
  - als:        MLlib ALS (implicit feedback) fitted on every event, each shopper's
                `recommendForAllUsers` list of N + M items;
  - popularity: log(1 + distinct shoppers) of the item, the N + M most popular items.
M is the 99th percentile of the shoppers' distinct items, so that after RecFuse (and the
exported SQL) leave out each shopper's seen items, N candidates remain for nearly everyone.
Seen items are not removed here: an evaluation's test items are items the shopper went on
to interact with, and removing them would leave nothing to find.
RecFuse reads OUT with `--signal-file spark=OUT` as the signals `spark_als`, `spark_popularity`.

Install: see spark_common.py.
Usage: spark_scores.py DATA_DIR OUT [--top 200] [--rank 32] [--iterations 5] [--timings FILE]
"""

import argparse

from pyspark.ml.feature import StringIndexer
from pyspark.ml.recommendation import ALS
from pyspark.sql import functions as F

from spark_common import Stopwatch, session

# Confidence of each event type in the implicit-feedback matrix (returns count as nothing).
EVENT_WEIGHTS = {"view": 1.0, "cart": 3.0, "purchase": 5.0}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("data")
    ap.add_argument("out")
    ap.add_argument("--top", type=int, default=200, help="items kept per shopper and signal")
    ap.add_argument("--rank", type=int, default=32)
    ap.add_argument("--iterations", type=int, default=5)
    ap.add_argument("--reg", type=float, default=0.1)
    ap.add_argument("--alpha", type=float, default=1.0)
    ap.add_argument("--timings", default=None)
    args = ap.parse_args()

    spark = session("recfuse-scores")
    watch = Stopwatch()
    events = spark.read.parquet(f"{args.data}/events.parquet").select("user_id", "item_id", "event_type")
    weight = F.create_map(*[x for k, v in EVENT_WEIGHTS.items() for x in (F.lit(k), F.lit(v))])
    seen = events.select("user_id", "item_id").distinct().cache()
    pairs = (
        events.withColumn("w", F.coalesce(weight[F.col("event_type")], F.lit(0.0)))
        .groupBy("user_id", "item_id")
        .agg(F.sum("w").alias("confidence"))
    )
    users = StringIndexer(inputCol="user_id", outputCol="u", stringOrderType="alphabetAsc").fit(pairs)
    items = StringIndexer(inputCol="item_id", outputCol="i", stringOrderType="alphabetAsc").fit(pairs)
    matrix = items.transform(users.transform(pairs)).select(
        F.col("u").cast("int"), F.col("i").cast("int"), "confidence"
    ).cache()
    n_pairs = matrix.count()
    n_seen = seen.count()
    watch.lap("read + index")

    als = ALS(
        rank=args.rank,
        maxIter=args.iterations,
        regParam=args.reg,
        alpha=args.alpha,
        implicitPrefs=True,
        userCol="u",
        itemCol="i",
        ratingCol="confidence",
        seed=42,
        coldStartStrategy="drop",
    )
    model = als.fit(matrix)
    model.userFactors.count()
    watch.lap("ALS fit")

    # recommendForAllUsers ranks every item for every shopper; ask for enough to keep N unseen.
    margin = int(
        seen.groupBy("user_id").count().agg(F.expr("percentile_approx(count, 0.99)")).first()[0] or 0
    )
    recs = model.recommendForAllUsers(args.top + margin)
    user_ids = spark.createDataFrame(list(enumerate(users.labelsArray[0])), "u INT, user_id STRING")
    item_ids = spark.createDataFrame(list(enumerate(items.labelsArray[0])), "i INT, item_id STRING")
    flat = (
        recs.select("u", F.explode("recommendations").alias("r"))
        .select("u", F.col("r.i").alias("i"), F.col("r.rating").cast("double").alias("score"))
        .join(F.broadcast(item_ids), "i")
        .join(user_ids, "u")
    )
    als_scores = flat.select("user_id", "item_id", F.lit("als").alias("signal"), "score")

    shoppers = events.groupBy("item_id").agg(F.countDistinct("user_id").alias("n"))
    head = shoppers.orderBy(F.col("n").desc(), F.col("item_id")).limit(args.top + margin)
    head = head.select("item_id", F.log1p(F.col("n").cast("double")).alias("score"))
    pop_scores = (
        seen.select("user_id")
        .distinct()
        .crossJoin(F.broadcast(head))
        .select("user_id", "item_id", F.lit("popularity").alias("signal"), "score")
    )
    als_scores.unionByName(pop_scores).write.mode("overwrite").parquet(args.out)
    watch.lap("recommendForAllUsers + popularity + write")

    written = spark.read.parquet(args.out)
    counts = {r["signal"]: r["count"] for r in written.groupBy("signal").count().collect()}
    negative = written.where(F.col("score") < 0).count()
    shoppers_written = written.select("user_id").distinct().count()
    print(f"  rows per signal: {counts}; shoppers {shoppers_written}; negative scores {negative}")
    if args.timings:
        watch.write(
            args.timings,
            pairs=n_pairs,
            seen_pairs=n_seen,
            rows=counts,
            shoppers=shoppers_written,
            negative_scores=negative,
            recommend_n=args.top + margin,
            als={"rank": args.rank, "iterations": args.iterations, "reg": args.reg, "alpha": args.alpha},
        )
    spark.stop()


if __name__ == "__main__":
    main()
