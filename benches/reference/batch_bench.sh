#!/bin/bash
# Times `recfuse batch` on full Online Retail (BENCHMARKS.md, "Batch output"): three runs each
# with and without the semantic signal, top-10 with contributions. Prints the batch stage (the
# time `batch` reports), the whole process's wall time and peak memory, and the load average
# before each run.
# usage: benches/reference/batch_bench.sh PATH/TO/recfuse [DATA] [OPTIONS]   (DATA: the retail .csv.gz;
#        OPTIONS: more batch options in one word list, e.g. "--candidates index")
set -euo pipefail
BIN=${1:?path to the recfuse binary}
DATA=${2:-../shared/data/online_retail/online_retail.csv.gz}
read -r -a MORE <<< "${3:-}"
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
for run in 1 2 3; do
  for mode in semantic no-semantic; do
    extra=()
    [ "$mode" = no-semantic ] && extra=(--no-semantic)
    load=$(cut -d' ' -f1 /proc/loadavg)
    /usr/bin/time -f "%e s wall, %M KiB peak" "$BIN" batch --behaviour "$DATA" --out "$OUT/recs.parquet" \
      --top 10 --explain "${extra[@]}" "${MORE[@]}" > "$OUT/stdout" 2> "$OUT/stderr"
    echo "$mode run $run (load $load): batch stage $(grep '^wrote' "$OUT/stdout" | sed 's/.* in //'); $(tail -1 "$OUT/stderr")"
  done
done
