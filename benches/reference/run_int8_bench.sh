#!/usr/bin/env bash
# The int8 embedding precision against ONNX Runtime (f32 and dynamic int8), interleaved:
# each round runs RecFuse f32, RecFuse int8, ORT f32 and ORT int8 one after another on the
# same texts, for titles and long texts, at 1 and 2 threads (BENCHMARKS.md, "int8 embedding").
# Usage: benches/reference/run_int8_bench.sh PYTHON [OUT_DIR] [ROUNDS]
#   PYTHON: the venv of ort_bench.py's header (onnx, onnxruntime, sentence-transformers).
# Needs the release example: cargo build --release --example embed_bench
# Writes OUT_DIR/results.jsonl (one measurement a line) and OUT_DIR/summary.json.
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${1:?python with onnxruntime and sentence-transformers}
OUT=${2:-/tmp/int8-bench}
ROUNDS=${3:-3}
mkdir -p "$OUT"
BIN=${BIN:-${CARGO_TARGET_DIR:-target}/release/examples/embed_bench}
MODEL=assets/models/all-MiniLM-L6-v2
ST=benches/reference/sentence_transformers_bench.py
ORT=benches/reference/ort_bench.py
HM=${HM:-../shared/data/hm_articles/articles.csv}
HM_TEXTS=${HM_TEXTS:-1000}
BATCH=${BATCH:-64}
ONNX=$OUT/onnx

# Texts: every sample catalogue title; the first HM_TEXTS H&M articles with a description
# (name + description, the RecFuse default template's join).
"$PY" $ST --texts sample_data/online_retail/catalogue.csv --columns title --dump-texts "$OUT/titles.json"
"$PY" $ST --texts "$HM" --columns prod_name detail_desc --dump-texts "$OUT/hm_all.json"
"$PY" - "$OUT" "$HM_TEXTS" <<'EOF'
import json, sys
out, n = sys.argv[1], int(sys.argv[2])
texts = [t for t in json.load(open(f"{out}/hm_all.json", encoding="utf-8")) if ". " in t][:n]
json.dump(texts, open(f"{out}/hm.json", "w", encoding="utf-8"), ensure_ascii=False)
golden = json.load(open("tests/fixtures/minilm_golden.json", encoding="utf-8"))
json.dump(golden["texts"], open(f"{out}/golden.json", "w", encoding="utf-8"), ensure_ascii=False)
json.dump({"embeddings": golden["embeddings"]}, open(f"{out}/golden.st.json", "w", encoding="utf-8"))
EOF
[ -f "$ONNX/model_int8.onnx" ] || "$PY" $ORT --model $MODEL --onnx-dir "$ONNX" --export

RESULTS="$OUT/results.jsonl"
: > "$RESULTS"
tag() { while read -r line; do echo "{\"round\":$1,\"dataset\":\"$2\",\"threads\":$3,\"variant\":\"$4\",\"result\":$line}"; done; }
for round in $(seq 1 "$ROUNDS"); do
  for threads in 1 2; do
    for data in titles hm; do
      for precision in f32 int8; do
        RAYON_NUM_THREADS=$threads "$BIN" --texts "$OUT/$data.json" --model $MODEL --device cpu \
            --precision $precision --batch-sizes $BATCH --warmup 1 --reps 1 \
          | tag "$round" $data "$threads" "recfuse-$precision" | tee -a "$RESULTS"
      done
      for variant in f32 int8; do
        "$PY" $ORT --model $MODEL --onnx-dir "$ONNX" --texts "$OUT/$data.json" --variant $variant \
            --threads "$threads" --batch-sizes $BATCH --warmup 1 --reps 1 \
          | tag "$round" $data "$threads" "ort-$variant" | tee -a "$RESULTS"
      done
    done
  done
done

# Agreement with the f32 sentence-transformers vectors (golden texts, titles, H&M texts).
for data in golden titles hm; do
  [ -f "$OUT/$data.st.json" ] || "$PY" $ST --texts "$OUT/$data.json" --model $MODEL --batch-sizes $BATCH \
      --reps 1 --warmup 0 --write-embeddings "$OUT/$data.st.json" > /dev/null
  for precision in f32 int8; do
    "$BIN" --texts "$OUT/$data.json" --model $MODEL --device cpu --precision $precision --batch-sizes $BATCH \
        --reps 1 --warmup 0 --reference "$OUT/$data.st.json" | tail -1 \
      | tag 0 $data 0 "recfuse-$precision" | tee -a "$RESULTS"
  done
  for variant in f32 int8; do
    "$PY" $ORT --model $MODEL --onnx-dir "$ONNX" --texts "$OUT/$data.json" --variant $variant --threads 2 \
        --batch-sizes $BATCH --reps 1 --warmup 0 --write-embeddings "$OUT/$data.ort-$variant.json" > /dev/null
    "$PY" - "$OUT/$data.st.json" "$OUT/$data.ort-$variant.json" <<'EOF' | tag 0 $data 0 "ort-$variant" | tee -a "$RESULTS"
import json, sys
import numpy as np
a = np.array(json.load(open(sys.argv[1]))["embeddings"], dtype=np.float64)
b = np.array(json.load(open(sys.argv[2]))["embeddings"], dtype=np.float64)
na, nb = np.linalg.norm(a, axis=1), np.linalg.norm(b, axis=1)
ok = (na > 0) & (nb > 0)
c = (a * b).sum(1)[ok] / (na[ok] * nb[ok])
print(json.dumps({"cosine_vs_reference": {"n": int(ok.sum()), "min": float(c.min()), "mean": float(c.mean())}}))
EOF
  done
done

"$PY" - "$RESULTS" "$OUT/summary.json" <<'EOF'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
rates, cos = {}, {}
for r in rows:
    res = r["result"]
    if "cosine_vs_reference" in res:
        cos[f'{r["dataset"]} {r["variant"]}'] = res["cosine_vs_reference"]
    elif "median_items_per_s" in res or "items_per_s" in res:
        v = res.get("median_items_per_s", res.get("items_per_s"))
        rates.setdefault((r["dataset"], r["threads"], r["variant"]), []).append(v)
summary = {"items_per_s": {}, "ratio_int8_vs_ort_int8": {}, "cosine": cos}
for (d, t, v), xs in sorted(rates.items()):
    summary["items_per_s"][f"{d} t{t} {v}"] = {"median": statistics.median(xs), "rounds": xs}
for (d, t, v), xs in sorted(rates.items()):
    if v == "recfuse-int8" and (d, t, "ort-int8") in rates:
        summary["ratio_int8_vs_ort_int8"][f"{d} t{t}"] = statistics.median(xs) / statistics.median(rates[(d, t, "ort-int8")])
json.dump(summary, open(sys.argv[2], "w"), indent=1)
print(json.dumps(summary, indent=1))
EOF
