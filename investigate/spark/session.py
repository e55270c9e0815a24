"""The Spark session queries run in: the one given, else the one already running (a notebook on
a cluster), else one started here: under ``spark-submit`` (its JVM is already up) with the
settings spark-submit was given, otherwise on ``INVESTIGATE_SPARK_MASTER`` (default
``local[*]``: this machine's cores) with driver memory ``INVESTIGATE_SPARK_MEMORY`` (default 2g).
A local session gets no web UI and few shuffle partitions; a cluster's keeps its settings.

Whatever the session, its SQL time zone is set to UTC: Spark reads and writes timestamps in the
session's zone (casts to DATE, ``date_trunc``), and the library's days and months are UTC ones,
as in DuckDB.
"""

from __future__ import annotations

import os
import warnings

from ..errors import InvestigateError

ENV_MASTER = "INVESTIGATE_SPARK_MASTER"
ENV_MEMORY = "INVESTIGATE_SPARK_MEMORY"

_LOCAL_CONFIG = {
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    # Few, small tables: the default 200 shuffle partitions would be 200 tasks per join.
    "spark.sql.shuffle.partitions": "8",
    # A partitioned export has a folder per day: listing them in a Spark job costs more than
    # listing them on the driver.
    "spark.sql.sources.parallelPartitionDiscovery.threshold": "100000",
}


def get_session(spark=None):
    """``spark`` when given, else the active session, else a new local one; its SQL time zone
    is UTC."""
    # pyspark warns about pandas 3 when it checks versions: results never go through its pandas
    # code (they come back as Arrow), so the warning says nothing about ours.
    warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas",
                            category=FutureWarning)
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise InvestigateError("engine 'spark' needs pyspark (and a Java runtime): "
                               "pip install 'investigate[spark]'") from None
    if spark is None:
        spark = SparkSession.getActiveSession()
    if spark is None:
        if "PYSPARK_GATEWAY_PORT" in os.environ:
            # Started by spark-submit (or pyspark's shell): its JVM and settings are the cluster's.
            builder = SparkSession.builder.appName("investigate")
        else:
            master = os.environ.get(ENV_MASTER, "local[*]")
            builder = (SparkSession.builder.master(master).appName("investigate")
                       .config("spark.driver.memory", os.environ.get(ENV_MEMORY, "2g")))
            if master.startswith("local"):
                for key, value in _LOCAL_CONFIG.items():
                    builder = builder.config(key, value)
        try:
            spark = builder.getOrCreate()
        except Exception as exc:  # no Java, or a JVM that would not start
            raise InvestigateError(f"cannot start Spark ({str(exc).splitlines()[0] if str(exc) else exc!r}); "
                                   "Spark needs a Java runtime (17 or newer): on Debian, "
                                   "apt-get install openjdk-17-jre-headless") from None
        spark.sparkContext.setLogLevel("ERROR")
    spark.conf.set("spark.sql.session.timeZone", "UTC")
    return spark
