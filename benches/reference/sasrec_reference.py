#!/usr/bin/env python3
"""Peer for the `transformer` signal (issue #16): a standard SASRec (Kang & McAuley 2018, the
layout of the RecBole / pmixer PyTorch implementations) in PyTorch, trained and measured on
the split, sequences and exclusions RecFuse's `eval --split leave-last` uses on MovieLens.

Install (exact command used for RESULTS.md; PyPI's torch wheel runs on the CPU):
    python3 -m venv /tmp/venv-seq && /tmp/venv-seq/bin/pip install torch numpy polars
    # (gave torch 2.15.0, numpy 2.x, polars 1.x)

Usage (from the repository root):
    /tmp/venv-seq/bin/python benches/reference/sasrec_reference.py \
        --ratings ../shared/data/movielens_latest_small/ratings.csv --leave-last 5 \
        [--dim 64 --blocks 2 --heads 2 --max-len 50 --dropout 0.2 --lr 1e-3 --epochs 200 \
         --batch 128 --loss ce|bce --patience 10 --eval-every 1 --seed 42 --threads 2 \
         --time-budget-s 0]

Protocol (RecFuse's, src/eval/split.rs, src/eval/runner.rs, src/score/transformer):
- ratings.csv read in file order, stably sorted by timestamp; rating >= 4 is a positive event
  (RecFuse weight 8), lower ratings weigh 0 (they stay in train, never enter a sequence).
- leave-last-N: each user's last N positive events are test when the user has more than N.
- A user's sequence = their positive train events in time order (repeats in a row merged).
- Relevant = the user's positive test items that have a train interaction (any rating), minus
  every item of the user's train events (any rating); users with train events and a non-empty
  relevant set are evaluated.
- Ranking: every item with a train interaction, the user's train items removed, ties to the
  lower item index; NDCG@10 (binary, ideal over min(|R|, 10)) and recall@10 = hits / |R|.
- Training: every position of each (window of the) train sequence predicts the next item; the
  last train item of each user is held out for early stopping on NDCG@10 (as RecFuse does);
  `--loss ce` is the full softmax over all items (the common modern SASRec setting), `bce` the
  paper's one sampled negative per position. Test-time input: the whole train sequence.
Prints one JSON object with the metrics, the chosen epoch, and the training time.
"""

import argparse
import json
import math
import sys
import time

import numpy as np
import polars as pl
import torch
from torch import nn


def load_split(path, leave_last):
    df = pl.read_csv(path).with_row_index("row")
    df = df.sort(["timestamp", "row"])  # stable by file order
    users = df["userId"].to_list()
    items = df["movieId"].to_list()
    positive = (df["rating"] >= 4.0).to_list()
    per_user_pos = {}
    for k, (u, p) in enumerate(zip(users, positive)):
        if p:
            per_user_pos.setdefault(u, []).append(k)
    test = set()
    for lst in per_user_pos.values():
        if len(lst) > leave_last:
            test.update(lst[-leave_last:])
    item_ids = sorted({i for k, i in enumerate(items) if k not in test})
    index = {m: j for j, m in enumerate(item_ids)}
    train_seen, train_seq, test_pos = {}, {}, {}
    for k, (u, i, p) in enumerate(zip(users, items, positive)):
        if k in test:
            test_pos.setdefault(u, set()).add(i)
            continue
        j = index[i]
        train_seen.setdefault(u, set()).add(j)
        if p:
            s = train_seq.setdefault(u, [])
            if not s or s[-1] != j:
                s.append(j)
    cases = []
    for u, rel in test_pos.items():
        seen = train_seen.get(u)
        if not seen:
            continue
        r = {index[i] for i in rel if i in index} - seen
        if r:
            cases.append((train_seq.get(u, []), seen, r))
    return len(item_ids), train_seq, train_seen, cases


class SASRec(nn.Module):
    def __init__(self, n_items, dim, blocks, heads, max_len, dropout):
        super().__init__()
        self.n_items, self.max_len = n_items, max_len
        self.item = nn.Embedding(n_items + 1, dim, padding_idx=n_items)
        self.pos = nn.Embedding(max_len, dim)
        self.drop = nn.Dropout(dropout)
        layer = nn.TransformerEncoderLayer(
            dim, heads, dim_feedforward=dim * 2, dropout=dropout, activation="relu", batch_first=True, norm_first=True
        )
        self.encoder = nn.TransformerEncoder(layer, blocks, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(dim)
        nn.init.normal_(self.item.weight, std=0.02)
        nn.init.normal_(self.pos.weight, std=0.02)

    def forward(self, seq):
        x = self.item(seq) * math.sqrt(self.item.embedding_dim) + self.pos.weight[None, :, :]
        x = self.drop(x) * (seq != self.n_items).unsqueeze(-1)
        length = seq.shape[1]
        causal = torch.triu(torch.ones(length, length, dtype=torch.bool), 1)
        pad = seq == self.n_items
        # A fully padded query row would be all -inf: let padding attend to itself.
        causal_b = causal.unsqueeze(0) | pad.unsqueeze(1)
        causal_b = causal_b & ~torch.eye(length, dtype=torch.bool).unsqueeze(0)
        mask = causal_b.repeat_interleave(self.encoder.layers[0].self_attn.num_heads, 0)
        return self.norm(self.encoder(x, mask=mask))

    def table(self):
        return self.item.weight[: self.n_items]


def left_pad(seqs, max_len, pad):
    out = np.full((len(seqs), max_len), pad, dtype=np.int64)
    for r, s in enumerate(seqs):
        s = s[-max_len:]
        if s:
            out[r, max_len - len(s) :] = s
    return torch.from_numpy(out)


def windows(train_seq, max_len):
    out = []
    for s in train_seq:
        end = len(s)
        while end >= 2:
            start = max(0, end - (max_len + 1))
            out.append(s[start:end])
            if start == 0:
                break
            end = start + 1
    return out


@torch.no_grad()
def rank(model, cases, k=10, batch=256):
    model.eval()
    ndcg, recall, hit = [], [], []
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    for b in range(0, len(cases), batch):
        chunk = cases[b : b + batch]
        seq = left_pad([c[0] for c in chunk], model.max_len, model.n_items)
        scores = (model(seq)[:, -1, :] @ model.table().T).numpy().astype(np.float64)
        for row, (_, seen, rel) in zip(scores, chunk):
            row[list(seen)] = -np.inf
            top = np.argsort(-row, kind="stable")[:k]
            hits = np.array([int(i) in rel for i in top])
            ndcg.append(float(discounts[hits].sum()) / float(discounts[: min(len(rel), k)].sum()))
            recall.append(hits.sum() / len(rel))
            hit.append(float(hits.any()))
    return {"ndcg@10": float(np.mean(ndcg)), "recall@10": float(np.mean(recall)), "hit@10": float(np.mean(hit))}


def train(args, n_items, train_seq, train_seen):
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    seqs = [s for s in train_seq.values() if len(s) >= 2]
    fit_seqs, valid = [], []
    for u, s in train_seq.items():
        # As RecFuse: the last item is held out when two remain and it is new to the user;
        # the ranking leaves out the user's other train items.
        if len(s) >= 3 and s[-1] not in s[:-1]:
            fit_seqs.append(s[:-1])
            valid.append((s[:-1], train_seen[u] - {s[-1]}, {s[-1]}))
        elif len(s) >= 2:
            fit_seqs.append(s)
    win = windows(fit_seqs, args.max_len)
    model = SASRec(n_items, args.dim, args.blocks, args.heads, args.max_len, args.dropout)
    opt = torch.optim.Adam(model.parameters(), lr=args.lr, betas=(0.9, 0.98))
    best, best_state, best_epoch, stale = -1.0, None, 0, 0
    started = time.perf_counter()
    for epoch in range(1, args.epochs + 1):
        if args.time_budget_s and time.perf_counter() - started > args.time_budget_s and best_state:
            print(f"time budget reached after epoch {epoch - 1}", file=sys.stderr, flush=True)
            break
        model.train()
        order = rng.permutation(len(win))
        for b in range(0, len(order), args.batch):
            batch = [win[i] for i in order[b : b + args.batch]]
            inp = left_pad([w[:-1] for w in batch], args.max_len, n_items)
            tgt = left_pad([w[1:] for w in batch], args.max_len, n_items)
            h = model(inp)
            mask = tgt != n_items
            h, t = h[mask], tgt[mask]
            if args.loss == "ce":
                loss = nn.functional.cross_entropy(h @ model.table().T, t)
            else:
                neg = torch.from_numpy(rng.integers(0, n_items, size=t.shape[0]))
                pos_l = (h * model.item(t)).sum(-1)
                neg_l = (h * model.item(neg)).sum(-1)
                loss = nn.functional.softplus(-pos_l).mean() + nn.functional.softplus(neg_l).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
        if epoch % args.eval_every:
            continue
        v = rank(model, valid)["ndcg@10"]
        print(f"epoch {epoch}: loss {loss.item():.4f} validation ndcg@10 {v:.4f}", file=sys.stderr, flush=True)
        if v > best:
            best, best_epoch, stale = v, epoch, 0
            best_state = {k: x.clone() for k, x in model.state_dict().items()}
        else:
            stale += 1
            if stale >= args.patience:
                break
    model.load_state_dict(best_state)
    return model, best_epoch, best, len(win), len(seqs)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--ratings", required=True)
    p.add_argument("--leave-last", type=int, default=5)
    p.add_argument("--dim", type=int, default=64)
    p.add_argument("--blocks", type=int, default=2)
    p.add_argument("--heads", type=int, default=2)
    p.add_argument("--max-len", type=int, default=50)
    p.add_argument("--dropout", type=float, default=0.2)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--epochs", type=int, default=200)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--loss", choices=["ce", "bce"], default="ce")
    p.add_argument("--patience", type=int, default=10)
    p.add_argument("--eval-every", type=int, default=1)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--time-budget-s", type=float, default=0.0, help="stop training after this long (0 = no limit)")
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    n_items, train_seq, train_seen, cases = load_split(args.ratings, args.leave_last)
    started = time.perf_counter()
    model, best_epoch, best_valid, n_windows, n_seqs = train(args, n_items, train_seq, train_seen)
    seconds = time.perf_counter() - started
    out = {
        "library": f"torch {torch.__version__}",
        "model": "SASRec",
        "params": vars(args),
        "items": n_items,
        "evaluated_users": len(cases),
        "training_windows": n_windows,
        "best_epoch": best_epoch,
        "validation_ndcg@10": best_valid,
        "train_seconds": seconds,
        "test": rank(model, cases),
    }
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
