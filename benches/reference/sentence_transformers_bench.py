#!/usr/bin/env python3
"""Reference throughput of Python sentence-transformers on the same texts as `recfuse bench embed`.

Install (exact command used for BENCHMARKS.md; PyPI's torch wheel runs on the CPU):
    python3 -m venv /tmp/st-venv && /tmp/st-venv/bin/pip install sentence-transformers==6.2.0
    # (gives torch 2.15.0; a CPU-only wheel from the PyTorch index works the same)

Usage:
    python3 sentence_transformers_bench.py --texts texts.json --model assets/models/all-MiniLM-L6-v2 \
        --batch-sizes 32 64 128 --threads 1 --device cpu --reps 3 --warmup 1 \
        [--precision fp32|fp16] [--write-embeddings vectors.json]

`--texts` is a JSON array of strings, or a CSV file with `--columns a b` (non-empty values
joined with ". ", the RecFuse default item template). Prints one JSON object per batch size:
{"library": "sentence-transformers", "batch_size": …, "threads": …, "items": …,
 "min_items_per_s": …, "median_items_per_s": …, "max_items_per_s": …, "seconds": […]}.
`--write-embeddings` stores {"embeddings": [[…], …]} (input order) for cosine comparison.
"""

import argparse
import csv
import json
import statistics
import sys
import time


def read_texts(path, columns):
    if path.endswith(".json"):
        with open(path, encoding="utf-8") as f:
            texts = json.load(f)
        if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
            sys.exit(f"{path}: expected a JSON array of strings")
        return texts
    if not columns:
        sys.exit("--columns is required for CSV input")
    with open(path, encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    return [". ".join(v.strip() for v in (row.get(c) or "" for c in columns) if v.strip()) for row in rows]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--texts", required=True)
    ap.add_argument("--columns", nargs="*", default=[])
    ap.add_argument("--model", default="assets/models/all-MiniLM-L6-v2")
    ap.add_argument("--batch-sizes", type=int, nargs="+", default=[32, 64, 128])
    ap.add_argument("--threads", type=int, default=0, help="torch CPU threads (0 = torch default)")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--precision", choices=["fp32", "fp16", "bf16"], default="fp32")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--write-embeddings")
    ap.add_argument("--dump-texts", help="write the texts as a JSON array and exit")
    args = ap.parse_args()

    texts = read_texts(args.texts, args.columns)
    if args.dump_texts:
        with open(args.dump_texts, "w", encoding="utf-8") as f:
            json.dump(texts, f, ensure_ascii=False)
        return

    import torch
    from sentence_transformers import SentenceTransformer

    if args.threads > 0:
        torch.set_num_threads(args.threads)
    model = SentenceTransformer(args.model, device=args.device, model_kwargs={"dtype": torch.float32})
    # The bundled weights are stored in f16; compute in f32 (as RecFuse does on the CPU).
    model = model.float()
    if args.precision == "fp16":
        model = model.half()
    elif args.precision == "bf16":
        model = model.bfloat16()
    model.max_seq_length = 256

    def run(batch_size):
        with torch.inference_mode():
            return model.encode(texts, batch_size=batch_size, normalize_embeddings=True,
                                convert_to_numpy=True, show_progress_bar=False)

    for bs in args.batch_sizes:
        for _ in range(args.warmup):
            run(bs)
        seconds = []
        for _ in range(max(1, args.reps)):
            if args.device.startswith("cuda"):
                torch.cuda.synchronize()
            t0 = time.perf_counter()
            run(bs)
            if args.device.startswith("cuda"):
                torch.cuda.synchronize()
            seconds.append(time.perf_counter() - t0)
        rates = sorted(len(texts) / s for s in seconds)
        print(json.dumps({
            "library": "sentence-transformers",
            "torch": torch.__version__,
            "device": args.device,
            "precision": args.precision,
            "batch_size": bs,
            "threads": torch.get_num_threads(),
            "items": len(texts),
            "min_items_per_s": rates[0],
            "median_items_per_s": statistics.median(rates),
            "max_items_per_s": rates[-1],
            "seconds": seconds,
        }), flush=True)

    if args.write_embeddings:
        vecs = run(args.batch_sizes[0])
        with open(args.write_embeddings, "w", encoding="utf-8") as f:
            json.dump({"embeddings": vecs.astype(float).tolist()}, f)


if __name__ == "__main__":
    main()
