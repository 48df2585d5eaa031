# The catalogues of BENCHMARKS "Embedding memory" (issue #13, deliverable 7): the 1,500 H&M
# articles with the longest descriptions, and the same articles with five other descriptions
# appended to each (510–1,331 characters, so most texts fill the model's 256 tokens), plus a
# synthetic behaviour file (400 shoppers, 6,824 purchases, seed 7) so that `eval` runs.
#
# Install (a venv outside the repository):
#   python3 -m venv /tmp/venv-gui && /tmp/venv-gui/bin/pip install polars==2.1.0
# Run:
#   /tmp/venv-gui/bin/python benches/results/hm1500_memory.py ../shared/data/hm_articles/articles.csv /tmp
import random
import sys
from pathlib import Path

import polars as pl

articles, out = Path(sys.argv[1]), Path(sys.argv[2])
out.mkdir(parents=True, exist_ok=True)
a = pl.read_csv(articles, infer_schema_length=0).filter(pl.col("detail_desc").is_not_null())
descs = a["detail_desc"].to_list()
a = a.with_columns(pl.col("detail_desc").str.len_chars().alias("n")).sort("n", descending=True).head(1500)
cat = a.select(
    pl.col("article_id").alias("item_id"),
    pl.col("prod_name").alias("title"),
    pl.col("detail_desc").alias("description"),
    pl.col("product_type_name").alias("category"),
)
cat.write_csv(out / "hm1500_catalogue.csv")
random.seed(7)
ids = cat["item_id"].to_list()
rows, t = [], 1_600_000_000
for u in range(400):
    for _ in range(random.randint(5, 30)):
        t += random.randint(60, 7200)
        rows.append((f"u{u}", random.choice(ids), t, "purchase"))
pl.DataFrame(rows, schema=["user_id", "item_id", "timestamp", "event_type"], orient="row").write_csv(
    out / "hm1500_events.csv"
)
random.seed(11)
long = [d + " " + " ".join(random.sample(descs, 5)) for d in cat["description"].to_list()]
cat.with_columns(pl.Series("description", long)).write_csv(out / "hm1500long_catalogue.csv")
