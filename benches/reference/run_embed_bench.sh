#!/usr/bin/env bash
# Embedding throughput, RecFuse (candle) vs Python sentence-transformers, same CPU, same run.
# Usage: benches/reference/run_embed_bench.sh PYTHON [OUT_DIR]
#   PYTHON: a python with sentence-transformers (see sentence_transformers_bench.py).
# Needs the release example: cargo build --release --example embed_bench
# Writes OUT_DIR/results.jsonl (one JSON object per measurement) and prints it.
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${1:?python with sentence-transformers}
OUT=${2:-bench_out}
mkdir -p "$OUT"
BIN=${BIN:-${CARGO_TARGET_DIR:-target}/release/examples/embed_bench}
MODEL=assets/models/all-MiniLM-L6-v2
REF=benches/reference/sentence_transformers_bench.py
HM=${HM:-../shared/data/hm_articles/articles.csv}

"$PY" $REF --texts sample_data/online_retail/catalogue.csv --columns title --dump-texts "$OUT/catalogue_titles.json"
"$PY" $REF --texts "$HM" --columns prod_name detail_desc --dump-texts "$OUT/hm_texts.json"

RESULTS="$OUT/results.jsonl"
: > "$RESULTS"
run() { # dataset threads batch warmup reps
  local data=$1 threads=$2 batch=$3 warmup=$4 reps=$5
  local tag="{\"dataset\":\"$data\",\"threads_requested\":\"$threads\"}"
  local py_threads=0 envs=()
  if [ "$threads" != all ]; then py_threads=$threads; envs=(RAYON_NUM_THREADS=$threads); fi
  env "${envs[@]}" "$PY" $REF --texts "$OUT/$data.json" --model $MODEL --batch-sizes "$batch" \
      --threads $py_threads --warmup "$warmup" --reps "$reps" 2>/dev/null \
    | while read -r line; do echo "[$tag,$line]"; done | tee -a "$RESULTS"
  env "${envs[@]}" "$BIN" --texts "$OUT/$data.json" --model $MODEL --batch-sizes "$batch" \
      --warmup "$warmup" --reps "$reps" \
    | while read -r line; do echo "[$tag,$line]"; done | tee -a "$RESULTS"
}
for threads in 1 all; do
  for batch in 32 64 128; do
    run catalogue_titles $threads $batch 1 3
    run hm_texts $threads $batch 0 2
  done
done
# Cosine agreement on both datasets.
for data in catalogue_titles hm_texts; do
  "$PY" $REF --texts "$OUT/$data.json" --model $MODEL --batch-sizes 64 --reps 1 --warmup 0 \
      --write-embeddings "$OUT/$data.st.json" >/dev/null 2>&1
  "$BIN" --texts "$OUT/$data.json" --model $MODEL --batch-sizes 64 --reps 1 --warmup 0 \
      --reference "$OUT/$data.st.json" | tail -1 \
    | while read -r line; do echo "[{\"dataset\":\"$data\"},$line]"; done | tee -a "$RESULTS"
done
