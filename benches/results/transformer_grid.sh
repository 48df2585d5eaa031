#!/usr/bin/env bash
# The validation grid of the `transformer` signal (issue #16): each setting is trained by
# `recfuse train-sequence --leave-last 5` on exactly `eval --split leave-last --leave-last 5`'s
# MovieLens train split, with early stopping on each shopper's last train item (validation
# only: no test event is read). One JSON per setting in docs/results/transformer_grid/
# (every epoch's loss and validation HR/NDCG@10, the kept epoch, the training seconds).
# Usage: benches/results/transformer_grid.sh [NAME ...]   (no names: every setting)
# On a shared machine: CANDLE_NUM_THREADS=1 RAYON_NUM_THREADS=1 (BENCHMARKS.md).
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${BIN:-${CARGO_TARGET_DIR:-target}/release/recfuse}
ML=${ML:-../shared/data/movielens_latest_small}
OUT=${OUT:-docs/results/transformer_grid}
TMP=${TMP_DIR:-$(mktemp -d)}
mkdir -p "$OUT"

# name | the `params.transformer` keys that differ from the defaults of src/score/params.rs
# (every setting spells out loss, width, blocks, lr and batch size) | extra options.
SETTINGS=(
  "sampled_d64_b2_lr3e-3_bs32|\"loss\":\"sampled_softmax\",\"dim\":64,\"blocks\":2,\"learning_rate\":0.003,\"batch_size\":32"
  "full_d64_b2_lr2e-3_bs128|\"loss\":\"full_softmax\",\"dim\":64,\"blocks\":2,\"learning_rate\":0.002,\"batch_size\":128"
  "full_d64_b2_lr1e-3_bs128|\"loss\":\"full_softmax\",\"dim\":64,\"blocks\":2,\"learning_rate\":0.001,\"batch_size\":128"
  "full_d64_b2_lr5e-3_bs128|\"loss\":\"full_softmax\",\"dim\":64,\"blocks\":2,\"learning_rate\":0.005,\"batch_size\":128"
  "full_d64_b2_lr2e-3_bs64|\"loss\":\"full_softmax\",\"dim\":64,\"blocks\":2,\"learning_rate\":0.002,\"batch_size\":64"
  "full_d64_b1_lr2e-3_bs128|\"loss\":\"full_softmax\",\"dim\":64,\"blocks\":1,\"learning_rate\":0.002,\"batch_size\":128"
  "full_d32_b2_lr2e-3_bs128|\"loss\":\"full_softmax\",\"dim\":32,\"blocks\":2,\"learning_rate\":0.002,\"batch_size\":128"
  "full_d128_b2_lr2e-3_bs128|\"loss\":\"full_softmax\",\"dim\":128,\"blocks\":2,\"learning_rate\":0.002,\"batch_size\":128"
  "full_d64_b2_lr2e-3_bs128_notext|\"loss\":\"full_softmax\",\"dim\":64,\"blocks\":2,\"learning_rate\":0.002,\"batch_size\":128|--no-text"
)

for entry in "${SETTINGS[@]}"; do
  IFS='|' read -r name keys extra <<< "$entry"
  if [ $# -gt 0 ] && [[ " $* " != *" $name "* ]]; then
    continue
  fi
  printf '{"params": {"transformer": {%s}}}\n' "$keys" > "$TMP/$name.session.json"
  echo "== $name" >&2
  "$BIN" train-sequence --catalogue "$ML/movies.csv" --behaviour "$ML/ratings.csv" --leave-last 5 \
    --session "$TMP/$name.session.json" --out "$TMP/$name.safetensors" --json ${extra:-} > "$OUT/$name.json"
done
