"""The ``investigate`` command as a Spark application, for ``spark-submit``::

    spark-submit --master yarn --deploy-mode client \\
        "$(python -c 'import investigate.spark.submit as s; print(s.__file__)')" \\
        query s3a://bucket/case-export cross_border_access_summary --engine spark -p grain month

The session is the one spark-submit configured (master, executors, memory). Only the driver runs
Python with investigate installed: the queries and the enrichment are Spark SQL, so executors
need no Python package.
"""

import sys

from investigate.cli import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
