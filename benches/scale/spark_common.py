"""Shared by the Spark stages of benches/scale/run_spark.sh: one local-mode Spark session.

Install (the exact command run_spark.sh uses):
    python3 -m venv /tmp/venv-spark && /tmp/venv-spark/bin/pip install pyspark==4.3.0 numpy pyarrow
Java 17 (Debian: openjdk-17-jre-headless) must be on the PATH.
"""

import json
import os
import time

from pyspark.sql import SparkSession


def session(name: str) -> SparkSession:
    """Spark in local mode on every core this process may use (SPARK_CORES, default 2)."""
    cores = os.environ.get("SPARK_CORES", "2")
    memory = os.environ.get("SPARK_DRIVER_MEMORY", "6g")
    spark = (
        SparkSession.builder.master(f"local[{cores}]")
        .appName(name)
        .config("spark.driver.memory", memory)
        # Local mode: a few shuffle partitions per core, not the cluster default of 200.
        .config("spark.sql.shuffle.partitions", os.environ.get("SPARK_PARTITIONS", "8"))
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    return spark


class Stopwatch:
    """Named wall-clock steps, written as JSON at the end."""

    def __init__(self):
        self.started = time.time()
        self.last = self.started
        self.steps = {}

    def lap(self, name: str) -> float:
        now = time.time()
        self.steps[name] = round(now - self.last, 2)
        self.last = now
        print(f"  {name}: {self.steps[name]:.1f} s", flush=True)
        return self.steps[name]

    def write(self, path: str, **extra):
        out = {"steps_seconds": self.steps, "total_seconds": round(time.time() - self.started, 2), **extra}
        with open(path, "w") as f:
            json.dump(out, f, indent=2)
