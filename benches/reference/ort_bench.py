#!/usr/bin/env python3
"""Reference embedding throughput of ONNX Runtime, f32 and dynamic int8, on the same texts as
`examples/embed_bench` (RecFuse), for BENCHMARKS.md ("int8 embedding").

The script exports the sentence-transformers model to ONNX itself (torch, legacy TorchScript
exporter, opset 17, dynamic batch and sequence axes), then quantises that export with ONNX
Runtime's dynamic quantisation (`quantize_dynamic`, signed int8 per-channel weights,
activations quantised per tensor at run time: what ORT users get from one call). Tokenising
(Hugging Face `tokenizers`, the model's own tokenizer.json), length-sorted batches padded to
their longest text, truncation at the model's max_seq_length, mean pooling and L2
normalisation are all inside the timed region, as they are for RecFuse.

Install (exact commands used for BENCHMARKS.md; torch 2.15.0 came from an existing venv
through a .pth file — `pip install torch==2.15.0` instead gives the same):
    python3 -m venv /tmp/venv-int8
    echo /tmp/venv-seq/lib/python3.11/site-packages \
        > /tmp/venv-int8/lib/python3.11/site-packages/zz-venv-seq-torch.pth
    /tmp/venv-int8/bin/pip install onnx onnxruntime transformers sentence-transformers==6.2.0
    # gave onnx 1.23.2, onnxruntime 1.32.0, transformers 5.24.0, tokenizers 0.23.3

Usage:
    ort_bench.py --model assets/models/all-MiniLM-L6-v2 --onnx-dir /tmp/int8-onnx --export
    ort_bench.py --texts T.json --variant int8 --threads 1 --batch-sizes 64 --reps 3 --warmup 1 \
        [--write-embeddings vectors.json]

Prints one JSON object per batch size, as sentence_transformers_bench.py does:
{"library": "onnxruntime-int8", "batch_size": …, "threads": …, "items": …,
 "min_items_per_s": …, "median_items_per_s": …, "max_items_per_s": …, "seconds": […]}.
"""

import argparse
import json
import os
import statistics
import sys
import time


def export(model_dir, onnx_dir):
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from transformers import AutoModel

    os.makedirs(onnx_dir, exist_ok=True)
    f32_path = os.path.join(onnx_dir, "model_f32.onnx")
    int8_path = os.path.join(onnx_dir, "model_int8.onnx")
    bert = AutoModel.from_pretrained(model_dir, dtype=torch.float32).eval()

    class Encoder(torch.nn.Module):
        """The token vectors, with keyword arguments (BertModel's positional order varies)."""

        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.inner(input_ids=input_ids, attention_mask=attention_mask,
                              token_type_ids=token_type_ids).last_hidden_state

    model = Encoder(bert).eval()
    ids = torch.ones((2, 8), dtype=torch.int64)
    axes = {0: "batch", 1: "tokens"}
    with torch.no_grad():
        torch.onnx.export(
            model,
            (ids, torch.ones_like(ids), torch.zeros_like(ids)),
            f32_path,
            input_names=["input_ids", "attention_mask", "token_type_ids"],
            output_names=["last_hidden_state"],
            dynamic_axes={"input_ids": axes, "attention_mask": axes, "token_type_ids": axes,
                          "last_hidden_state": axes},
            opset_version=17,
            dynamo=False,
        )
    quantize_dynamic(f32_path, int8_path, weight_type=QuantType.QInt8, per_channel=True)
    print(json.dumps({"exported": [f32_path, int8_path]}))


def max_seq_length(model_dir):
    path = os.path.join(model_dir, "sentence_bert_config.json")
    if os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            return int(json.load(f).get("max_seq_length", 256))
    return 256


class Embedder:
    def __init__(self, model_dir, onnx_path, threads):
        import onnxruntime as ort
        from tokenizers import Tokenizer

        self.tok = Tokenizer.from_file(os.path.join(model_dir, "tokenizer.json"))
        self.tok.no_padding()
        self.tok.enable_truncation(max_seq_length(model_dir))
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.session = ort.InferenceSession(onnx_path, opts, providers=["CPUExecutionProvider"])

    def embed(self, texts, batch_size):
        import numpy as np

        encodings = self.tok.encode_batch(texts)
        order = sorted(range(len(texts)), key=lambda i: -len(encodings[i].ids))
        out = np.zeros((len(texts), 0), dtype=np.float32)
        for start in range(0, len(order), batch_size):
            batch = order[start:start + batch_size]
            width = max(1, max(len(encodings[i].ids) for i in batch))
            ids = np.zeros((len(batch), width), dtype=np.int64)
            mask = np.zeros((len(batch), width), dtype=np.int64)
            for r, i in enumerate(batch):
                e = encodings[i].ids
                ids[r, :len(e)] = e
                mask[r, :len(e)] = 1
            hidden = self.session.run(None, {"input_ids": ids, "attention_mask": mask,
                                             "token_type_ids": np.zeros_like(ids)})[0]
            m = mask[:, :, None].astype(np.float32)
            pooled = (hidden * m).sum(1) / np.clip(m.sum(1), 1e-9, None)
            pooled /= np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)
            if out.shape[1] == 0:
                out = np.zeros((len(texts), pooled.shape[1]), dtype=np.float32)
            out[batch] = pooled
        return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default="assets/models/all-MiniLM-L6-v2")
    ap.add_argument("--onnx-dir", default="/tmp/int8-onnx")
    ap.add_argument("--export", action="store_true", help="export and quantise, then exit")
    ap.add_argument("--texts")
    ap.add_argument("--variant", choices=["f32", "int8"], default="int8")
    ap.add_argument("--batch-sizes", type=int, nargs="+", default=[64])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--write-embeddings")
    args = ap.parse_args()
    if args.export:
        export(args.model, args.onnx_dir)
        return
    if not args.texts:
        sys.exit("--texts is required")
    with open(args.texts, encoding="utf-8") as f:
        texts = json.load(f)
    onnx_path = os.path.join(args.onnx_dir, f"model_{args.variant}.onnx")
    embedder = Embedder(args.model, onnx_path, args.threads)
    for batch in args.batch_sizes:
        for _ in range(args.warmup):
            embedder.embed(texts, batch)
        seconds = []
        for _ in range(args.reps):
            t = time.perf_counter()
            vectors = embedder.embed(texts, batch)
            seconds.append(time.perf_counter() - t)
        rates = [len(texts) / s for s in seconds]
        print(json.dumps({
            "library": f"onnxruntime-{args.variant}", "batch_size": batch, "threads": args.threads,
            "items": len(texts), "min_items_per_s": min(rates), "median_items_per_s": statistics.median(rates),
            "max_items_per_s": max(rates), "seconds": seconds,
        }), flush=True)
    if args.write_embeddings:
        with open(args.write_embeddings, "w", encoding="utf-8") as f:
            json.dump({"embeddings": vectors.tolist()}, f)


if __name__ == "__main__":
    main()
