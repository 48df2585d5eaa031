#!/usr/bin/env bash
# An existing distributed engine, run for real (issue #18, deliverable 4): Spark MLlib computes
# per-signal scores, RecFuse imports them, tunes the fusion on a sample of shoppers and exports it
# as Spark SQL, Spark applies that SQL to every shopper, and the lists are compared.
#
#   1. spark_scores.py     Spark (local mode): ALS (implicit) recommendForAllUsers + item popularity,
#                          each shopper's top N + M items per signal -> WORK/scores/ (Parquet parts)
#   2. sample_shoppers.py  an evenly spaced sample of shoppers and all their events
#      recfuse eval        --signal-file spark=WORK/scores --builtin none --tune --save-profile
#      recfuse export-profile --profile tuned.json --format spark-sql
#      recfuse batch       the sample's top-10 with the tuned profile (what Spark must reproduce)
#   3. spark_apply.py      Spark runs fusion.sql over every shopper's scores -> WORK/spark_top10/
#   4. compare_lists.py    for the sampled shoppers: Spark's top-10 == RecFuse's?
# Each stage runs under peak_rss.py (wall time; peak resident memory of the whole process tree,
# the JVM included); the summary is WORK/summary.json.
#
# Install once (Java 17: `apt-get install openjdk-17-jre-headless` on Debian 12):
#   python3 -m venv /tmp/venv-spark && /tmp/venv-spark/bin/pip install pyspark==4.3.0 numpy pyarrow
# Data: recfuse bench generate --events 1000000 --items 100000 --seed 42 --out /tmp/spark-synth1m
# Usage: benches/scale/run_spark.sh DATA_DIR WORK_DIR [SAMPLE_SHOPPERS=2000]
#   env: RECFUSE (binary, default target/release/recfuse), PYTHON (default /tmp/venv-spark/bin/python),
#        SPARK_CORES (2), SPARK_DRIVER_MEMORY (6g), TOP_N (200 per signal), ALS_RANK (32), ALS_ITERATIONS (5),
#        REUSE_SCORES=1 (keep WORK/scores from an earlier run: stage 1 is the slow one)
set -euo pipefail

DATA=$(realpath "$1")
WORK=$(realpath -m "$2")
SAMPLE=${3:-2000}
HERE=$(cd "$(dirname "$0")" && pwd)
RECFUSE=${RECFUSE:-${CARGO_TARGET_DIR:-target}/release/recfuse}
PYTHON=${PYTHON:-/tmp/venv-spark/bin/python}
TOP_N=${TOP_N:-200}
mkdir -p "$WORK"
[ -x "$RECFUSE" ] || { echo "no RecFuse binary at $RECFUSE (cargo build --release, or set RECFUSE)" >&2; exit 1; }

# stage NAME COMMAND…: runs it under peak_rss.py (wall time, peak memory of the whole process
# tree, the JVM included), logs to WORK/NAME.log, appends the figures to WORK/stages.jsonl.
stage() {
  local name=$1; shift
  echo "== $name: $*"
  python3 "$HERE/peak_rss.py" "$WORK/$name.rss.json" "$@" > "$WORK/$name.log" 2>&1 || { tail -30 "$WORK/$name.log"; exit 1; }
  echo "   $(cat "$WORK/$name.rss.json")"
  python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); d["stage"]=sys.argv[2]; print(json.dumps(d))' \
    "$WORK/$name.rss.json" "$name" >> "$WORK/stages.jsonl"
}

echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores; load: $(cut -d' ' -f1-3 /proc/loadavg)"
[ "${REUSE_SCORES:-0}" = 1 ] && [ -f "$WORK/stages.jsonl" ] && grep '"1-spark-scores"' "$WORK/stages.jsonl" > "$WORK/stages.keep" || true
rm -f "$WORK/stages.jsonl"; [ -f "$WORK/stages.keep" ] && mv "$WORK/stages.keep" "$WORK/stages.jsonl"
cd "$HERE"

if [ "${REUSE_SCORES:-0}" = 1 ] && [ -f "$WORK/scores/_SUCCESS" ]; then
  echo "== 1-spark-scores: reusing $WORK/scores (REUSE_SCORES=1; its figures stay in stages.jsonl and stage1.json)"
else
  stage 1-spark-scores "$PYTHON" spark_scores.py "$DATA" "$WORK/scores" --top "$TOP_N" \
    --rank "${ALS_RANK:-32}" --iterations "${ALS_ITERATIONS:-5}" --timings "$WORK/stage1.json"
fi

stage 2a-sample "$PYTHON" sample_shoppers.py "$DATA" "$WORK/sample" "$SAMPLE"
COMMON=(--catalogue "$DATA/catalogue.parquet" --behaviour "$WORK/sample/events.parquet"
        --signal-file "spark=$WORK/scores" --builtin none)
# --keep-duplicates: RecFuse's duplicate collapsing is the one step the SQL cannot express (its header
# says so); without it the two must agree exactly.
stage 2b-recfuse-tune "$RECFUSE" eval "${COMMON[@]}" --tune --no-tune-params --keep-duplicates --bootstrap 200 \
  --json --save-profile "$WORK/tuned.json"
cp "$WORK/2b-recfuse-tune.log" "$WORK/eval.json.log"
stage 2c-recfuse-export "$RECFUSE" export-profile --profile "$WORK/tuned.json" --format spark-sql \
  --top 10 --out "$WORK/fusion.sql"
stage 2d-recfuse-batch "$RECFUSE" batch --catalogue "$DATA/catalogue.parquet" \
  --behaviour "$WORK/sample/events.parquet" --signal-file "spark=$WORK/scores" \
  --profile "$WORK/tuned.json" --top 10 --json --out "$WORK/recfuse_top10.parquet"

stage 3-spark-apply "$PYTHON" spark_apply.py "$DATA" "$WORK/scores" "$WORK/fusion.sql" "$WORK/spark_top10" \
  --prefix spark --timings "$WORK/stage3.json"

stage 4-compare "$PYTHON" compare_lists.py "$WORK/recfuse_top10.parquet" "$WORK/spark_top10" \
  --json "$WORK/agreement.json"
cat "$WORK/4-compare.log"

"$PYTHON" - "$WORK" <<'PY'
import json, sys, os
w = sys.argv[1]
out = {"stages": [json.loads(l) for l in open(os.path.join(w, "stages.jsonl"))]}
for name in ["stage1", "stage3", "agreement"]:
    p = os.path.join(w, name + ".json")
    if os.path.exists(p):
        out[name] = json.load(open(p))
json.dump(out, open(os.path.join(w, "summary.json"), "w"), indent=2)
print("summary:", os.path.join(w, "summary.json"))
PY
