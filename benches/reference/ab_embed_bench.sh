#!/usr/bin/env bash
# Interleaved A/B: one sentence-transformers run, then one RecFuse run, ROUNDS times, per
# (dataset, threads, batch). On a shared machine the best run of each side is the least
# disturbed one; compare those. Usage: ab_embed_bench.sh PYTHON OUT_DIR [ROUNDS]
# (expects OUT_DIR/<dataset>.json from run_embed_bench.sh or --dump-texts).
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${1:?python with sentence-transformers}; OUT=${2:-bench_out}; ROUNDS=${3:-3}
BIN=${BIN:-${CARGO_TARGET_DIR:-target}/release/examples/embed_bench}
MODEL=assets/models/all-MiniLM-L6-v2
REF=benches/reference/sentence_transformers_bench.py
DATASETS=${DATASETS:-"catalogue_titles hm_texts"}; BATCHES=${BATCHES:-32}; THREADS=${THREADS:-"1 all"}
for data in $DATASETS; do for threads in $THREADS; do for batch in $BATCHES; do
  py_threads=0; envs=()
  if [ "$threads" != all ]; then py_threads=$threads; envs=(RAYON_NUM_THREADS=$threads); fi
  for round in $(seq "$ROUNDS"); do
    tag="{\"dataset\":\"$data\",\"threads_requested\":\"$threads\",\"round\":$round}"
    env "${envs[@]}" "$PY" $REF --texts "$OUT/$data.json" --model $MODEL --batch-sizes "$batch" \
      --threads $py_threads --warmup 0 --reps 1 2>/dev/null | sed "s/^/[$tag,/; s/\$/]/"
    env "${envs[@]}" "$BIN" --texts "$OUT/$data.json" --model $MODEL --batch-sizes "$batch" \
      --warmup 0 --reps 1 | sed "s/^/[$tag,/; s/\$/]/"
  done
done; done; done
