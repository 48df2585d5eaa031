#!/usr/bin/env bash
# Re-computes docs/results/*.json (the numbers in RESULTS.md) with the release build.
# Needs ../shared/data (the full Online Retail file and MovieLens latest-small).
# Then: python3 benches/results/render_results.py docs/results/<name>.json  for each table.
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${BIN:-${CARGO_TARGET_DIR:-target}/release/recfuse}
ML=../shared/data/movielens_latest_small
"$BIN" eval --catalogue sample_data/online_retail/catalogue.csv --behaviour sample_data/online_retail/events.csv \
  --tune --json > docs/results/sample_eval.json
"$BIN" eval --behaviour ../shared/data/online_retail/online_retail.csv.gz --tune --json > docs/results/retail_eval.json
"$BIN" eval --catalogue $ML/movies.csv --behaviour $ML/ratings.csv --split leave-last --leave-last 5 --tune --json \
  > docs/results/ml_leave5.json
"$BIN" eval --catalogue $ML/movies.csv --behaviour $ML/ratings.csv --tune --json > docs/results/ml_temporal.json
# Complete Journey (grocery, 1.47 M transactions, 92 k products; Parquet, columns mapped by name).
CJ=../shared/data/completejourney
"$BIN" eval --catalogue $CJ/products.parquet --behaviour $CJ/transactions.parquet --tune --json \
  > docs/results/cj_eval.json
# Small-shop cuts (issue #13): 100 MovieLens users, 300 Online Retail shoppers, seed 13.
CUT=${CUT:-$(mktemp -d)}
${PYTHON:-python3} benches/results/cut_small.py "$CUT"
"$BIN" eval --behaviour "$CUT/retail300/online_retail.csv" --tune --json > docs/results/issue13_retail300_eval.json
"$BIN" eval --catalogue "$CUT/ml100/movies.csv" --behaviour "$CUT/ml100/ratings.csv" --split leave-last --leave-last 5 \
  --tune --json > docs/results/issue13_ml100_leave5.json
"$BIN" eval --catalogue "$CUT/ml100/movies.csv" --behaviour "$CUT/ml100/ratings.csv" --tune --json \
  > docs/results/issue13_ml100_temporal.json
# Peers on RecFuse's own protocol (issue #13, deliverable 8): implicit's ALS (tuned on validation),
# item-KNN, BPR and popularity fitted on `eval --export-split` and measured by `eval --signal-file`;
# RecFuse's ALS at the λ, α its own tuning kept in the JSON named by --tuning.
PEERS_PY=${PEERS_PY:-/tmp/venv-quality/bin/python}
peer() {
  local out=$1 tuning=$2
  shift 2
  OPENBLAS_NUM_THREADS=1 "$PEERS_PY" benches/reference/peers_same_protocol.py --recfuse "$BIN" --tuning "$tuning" \
    --out "$out" -- "$@"
}
peer docs/results/peers_sample.json docs/results/sample_eval.json \
  --catalogue sample_data/online_retail/catalogue.csv --behaviour sample_data/online_retail/events.csv
peer docs/results/peers_retail.json docs/results/retail_eval.json --behaviour ../shared/data/online_retail/online_retail.csv.gz
peer docs/results/peers_ml_leave5.json docs/results/ml_leave5.json \
  --catalogue $ML/movies.csv --behaviour $ML/ratings.csv --split leave-last --leave-last 5
peer docs/results/peers_ml_temporal.json docs/results/ml_temporal.json --catalogue $ML/movies.csv --behaviour $ML/ratings.csv
peer docs/results/peers_cj.json docs/results/cj_eval.json --catalogue $CJ/products.parquet --behaviour $CJ/transactions.parquet
peer docs/results/peers_retail300.json docs/results/issue13_retail300_eval.json --behaviour "$CUT/retail300/online_retail.csv"
peer docs/results/peers_ml100_leave5.json docs/results/issue13_ml100_leave5.json \
  --catalogue "$CUT/ml100/movies.csv" --behaviour "$CUT/ml100/ratings.csv" --split leave-last --leave-last 5
peer docs/results/peers_ml100_temporal.json docs/results/issue13_ml100_temporal.json \
  --catalogue "$CUT/ml100/movies.csv" --behaviour "$CUT/ml100/ratings.csv"
# The learned ranker against LightGBM LambdaMART on its own feature tables (issue #15): `train
# --export-features`, LightGBM fitted on the same shoppers, both measured by `eval --ranker
# --signal-file` in one run; with and without the embedding features.
lgb() {
  local out=$1
  shift
  "$PEERS_PY" benches/reference/lightgbm_reference.py --recfuse "$BIN" --out "$out" "$@"
}
for variant in "" "--no-embedding-features"; do
  suffix=${variant:+_no_embeddings}
  lgb docs/results/lightgbm_sample$suffix.json --train-args="$variant" -- \
    --catalogue sample_data/online_retail/catalogue.csv --behaviour sample_data/online_retail/events.csv
  lgb docs/results/lightgbm_retail$suffix.json --train-args="$variant" -- --behaviour ../shared/data/online_retail/online_retail.csv.gz
  lgb docs/results/lightgbm_ml_leave5$suffix.json --train-args="$variant" -- \
    --catalogue $ML/movies.csv --behaviour $ML/ratings.csv --split leave-last --leave-last 5
done
