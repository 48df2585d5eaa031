# The Complete Journey subset the docs/screens/completejourney-*.png screenshots were taken on:
# the 4,000 products bought by the most households (ties by product id) and every transaction
# of those products, written as Parquet. The demographics file is used as it is.
#
# Install (a venv outside the repository):
#   python3 -m venv /tmp/venv-gui && /tmp/venv-gui/bin/pip install polars==2.1.0
# Run:
#   /tmp/venv-gui/bin/python docs/screens/completejourney_subset.py ../shared/data/completejourney /tmp/cj-subset
import sys
from pathlib import Path

import polars as pl

src, out = Path(sys.argv[1]), Path(sys.argv[2])
out.mkdir(parents=True, exist_ok=True)
t = pl.read_parquet(src / "transactions.parquet")
p = pl.read_parquet(src / "products.parquet")
top = (
    t.group_by("product_id")
    .agg(pl.col("household_id").n_unique().alias("households"))
    .sort(["households", "product_id"], descending=[True, False])
    .head(4000)
)
keep = top["product_id"].to_list()
p.filter(pl.col("product_id").is_in(keep)).write_parquet(out / "products.parquet")
t.filter(pl.col("product_id").is_in(keep)).write_parquet(out / "transactions.parquet")
