"""The query library on Apache Spark, over a workspace exported as Parquet.

>>> import investigate
>>> investigate.export(ws, "case-parquet")
>>> src = investigate.spark.open_export("case-parquet")          # or "s3a://bucket/case-parquet"
>>> investigate.run_query(src, "cross_border_access_summary", engine="spark", grain="month")

The library's SQL is transpiled from DuckDB's dialect by ``sqlglot`` (:mod:`.dialect`); the
enrichment is worked out again with Spark joins over the exported range tables (:mod:`.source`).
Needs ``pyspark`` and a Java runtime: ``pip install 'investigate[spark]'``.
"""

from .source import SparkSource, open_export

__all__ = ["SparkSource", "open_export"]
