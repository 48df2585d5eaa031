"""Shared helpers of the reference benchmarks: the peer-baseline protocol (data, split,
ranking, metrics), the RecFuse subprocess call and timing summaries.

Install (exact command used for BENCHMARKS.md):
    python3 -m venv /work/bench_venv && /work/bench_venv/bin/pip install \
        implicit==0.7.2 numpy scipy polars pandas pyarrow

The protocol is the one of ../shared/reference/PEER-BASELINES.md:
- Full Online Retail: drop rows with no CustomerID, invoices starting with 'C', or Quantity <= 0;
  local times read as UTC epoch seconds. Sample: event_type == purchase. MovieLens: all ratings.
- cut = tmin + 0.9 (tmax - tmin); test = ts >= cut, train = ts < cut.
- Users and items indexed from train; weight of (user, item) = number of train rows (1 on MovieLens).
- Relevant = the user's test items (MovieLens: rating >= 4) that are train items and not in the
  user's train history; users evaluated: train history and a non-empty relevant set.
- Every train item scored, the user's train items (every train row: any event type, any rating —
  RecFuse's "exclude already-seen" rule, fusion::candidates::excluded_items) set to -inf, ties to
  the lower item index;
  metrics @10 averaged over users (binary NDCG with ideal over min(|R|, 10)).
"""

import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

import numpy as np
import polars as pl
import scipy.sparse as sp

REPO = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("RECFUSE_DATA_DIR", REPO.parent / "shared" / "data"))


def recfuse_binary(explicit=None):
    """The release binary: --recfuse, $RECFUSE_BIN, $CARGO_TARGET_DIR/release, or target/release."""
    if explicit:
        return str(explicit)
    if os.environ.get("RECFUSE_BIN"):
        return os.environ["RECFUSE_BIN"]
    target = Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))
    return str(target / "release" / "recfuse")


def run_recfuse(binary, args):
    """Runs `recfuse ARGS --json` and returns the parsed report."""
    out = subprocess.run([binary, *args, "--json"], check=True, capture_output=True, text=True, cwd=REPO)
    return json.loads(out.stdout)


def row_of(report, area, name_prefix):
    for row in report["rows"]:
        if row["area"] == area and row["name"].startswith(name_prefix):
            return row
    raise KeyError(f"no row {area}/{name_prefix} in the RecFuse report")


def summary(seconds):
    s = sorted(seconds)
    return {"min_s": s[0], "median_s": statistics.median(s), "max_s": s[-1], "seconds": seconds}


def fmt(t):
    return f"{t['min_s']:.3f} / {t['median_s']:.3f} / {t['max_s']:.3f} s"


def machine():
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "python": sys.version.split()[0]}


def peer_interactions(dataset):
    """(user, item, ts, relevant_flag) rows of the protocol, ids as strings."""
    if dataset == "retail":
        df = pl.read_csv(
            SHARED / "online_retail" / "online_retail.csv.gz",
            schema_overrides={"InvoiceNo": pl.Utf8, "StockCode": pl.Utf8, "CustomerID": pl.Utf8},
        )
        df = df.filter(
            pl.col("CustomerID").is_not_null()
            & ~pl.col("InvoiceNo").str.starts_with("C")
            & (pl.col("Quantity") > 0)
        )
        ts = pl.col("InvoiceDate").str.strptime(pl.Datetime("us"), "%Y-%m-%d %H:%M").dt.epoch("s")
        return df.select(
            pl.col("CustomerID").alias("user"), pl.col("StockCode").alias("item"), ts.alias("ts"), pl.lit(True).alias("rel")
        )
    if dataset == "sample":
        df = pl.read_csv(
            REPO / "sample_data" / "online_retail" / "events.csv",
            schema_overrides={"user_id": pl.Utf8, "item_id": pl.Utf8, "invoice_no": pl.Utf8},
        ).filter(pl.col("event_type") == "purchase")
        ts = pl.col("timestamp").str.strptime(pl.Datetime("us"), "%Y-%m-%dT%H:%M:%S").dt.epoch("s")
        return df.select(pl.col("user_id").alias("user"), pl.col("item_id").alias("item"), ts.alias("ts"), pl.lit(True).alias("rel"))
    if dataset == "movielens":
        df = pl.read_csv(SHARED / "movielens_latest_small" / "ratings.csv")
        return df.select(
            pl.col("userId").cast(pl.Utf8).alias("user"),
            pl.col("movieId").cast(pl.Utf8).alias("item"),
            pl.col("timestamp").alias("ts"),
            (pl.col("rating") >= 4.0).alias("rel"),
        )
    raise SystemExit(f"unknown dataset {dataset!r}")


class Split:
    """Train matrix (user x item counts), eval users and their relevant sets."""

    def __init__(self, rows):
        tmin, tmax = rows["ts"].min(), rows["ts"].max()
        self.cut = tmin + 0.9 * (tmax - tmin)
        train = rows.filter(pl.col("ts") < self.cut)
        test = rows.filter(pl.col("ts") >= self.cut)
        self.train_rows = train
        self.users = sorted(train["user"].unique().to_list())
        self.items = sorted(train["item"].unique().to_list())
        self.user_index = {u: k for k, u in enumerate(self.users)}
        self.item_index = {i: k for k, i in enumerate(self.items)}
        u = np.array([self.user_index[x] for x in train["user"].to_list()], dtype=np.int32)
        i = np.array([self.item_index[x] for x in train["item"].to_list()], dtype=np.int32)
        counts = sp.csr_matrix((np.ones(len(u), dtype=np.float32), (u, i)), shape=(len(self.users), len(self.items)))
        counts.sum_duplicates()
        self.counts = counts
        relevant = {}
        for user, item, rel in zip(test["user"].to_list(), test["item"].to_list(), test["rel"].to_list()):
            if not rel or user not in self.user_index or item not in self.item_index:
                continue
            uk, ik = self.user_index[user], self.item_index[item]
            if counts[uk, ik] > 0:
                continue
            relevant.setdefault(uk, set()).add(ik)
        self.eval_users = np.array(sorted(relevant), dtype=np.int64)
        self.relevant = [relevant[u] for u in self.eval_users]

    def write_recfuse_csv(self, path):
        """The train rows as a RecFuse behaviour file: every row a purchase (weight 8)."""
        self.train_rows.select(
            ("u" + pl.col("user")).alias("user_id"),
            ("i" + pl.col("item")).alias("item_id"),
            pl.col("ts").cast(pl.Int64).alias("timestamp"),
            pl.lit("purchase").alias("event_type"),
        ).write_csv(path)


def rank_top_k(user_vectors, item_vectors, split, k=10):
    """Top-k train items per evaluated user; train items excluded; ties -> lower index."""
    scores = user_vectors @ item_vectors.T
    scores = np.asarray(scores, dtype=np.float64)
    seen = split.counts[split.eval_users]
    rows, cols = seen.nonzero()
    scores[rows, cols] = -np.inf
    order = np.argsort(-scores, axis=1, kind="stable")
    return order[:, :k]


def metrics(top, split, k=10):
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    ndcg, recall, precision, hit, mrr = [], [], [], [], []
    shown = set()
    for row, rel in zip(top, split.relevant):
        hits = np.array([int(i) in rel for i in row], dtype=bool)
        shown.update(int(i) for i in row)
        dcg = float(discounts[: len(row)][hits].sum())
        idcg = float(discounts[: min(len(rel), k)].sum())
        ndcg.append(dcg / idcg)
        recall.append(hits.sum() / len(rel))
        precision.append(hits.sum() / k)
        hit.append(1.0 if hits.any() else 0.0)
        first = np.flatnonzero(hits)
        mrr.append(1.0 / (first[0] + 1) if first.size else 0.0)
    return {
        "users": len(split.relevant),
        "ndcg@10": float(np.mean(ndcg)),
        "recall@10": float(np.mean(recall)),
        "precision@10": float(np.mean(precision)),
        "hit@10": float(np.mean(hit)),
        "mrr@10": float(np.mean(mrr)),
        "coverage@10": len(shown) / len(split.items),
    }


def read_recfuse_factors(directory, split):
    """RecFuse's exported factors, re-indexed to the split's user and item order."""
    d = Path(directory)
    meta = json.loads((d / "meta.json").read_text())
    f = meta["factors"]
    users = (d / "users.txt").read_text().splitlines()
    items = (d / "items.txt").read_text().splitlines()
    uf = np.fromfile(d / "user_factors.f32", dtype="<f4").reshape(len(users), f)
    itf = np.fromfile(d / "item_factors.f32", dtype="<f4").reshape(len(items), f)
    u_pos = {name[1:]: k for k, name in enumerate(users)}
    i_pos = {name[1:]: k for k, name in enumerate(items)}
    U = np.zeros((len(split.users), f), dtype=np.float32)
    V = np.zeros((len(split.items), f), dtype=np.float32)
    for k, u in enumerate(split.users):
        if u in u_pos:
            U[k] = uf[u_pos[u]]
    for k, i in enumerate(split.items):
        if i in i_pos:
            V[k] = itf[i_pos[i]]
    return U, V
