"""Child process: parse one DAG file the way the DAG processor does, print the seconds.

``python -m bench.dag_parse <file>``. Airflow itself is imported before the clock starts (the
processor has it loaded already); what is timed is ``DagBag`` loading that one file: its
imports (ops_domain, the plugin package) and building its DAG objects.
"""

from __future__ import annotations

import json
import sys
import time


def main() -> None:
    from airflow.dag_processing.dagbag import DagBag

    path = sys.argv[1]
    started = time.perf_counter()
    bag = DagBag(dag_folder=path)
    seconds = time.perf_counter() - started
    print(
        json.dumps(
            {
                "file": path,
                "seconds": seconds,
                "dags": sorted(bag.dag_ids),
                "import_errors": {str(k): str(v)[:300] for k, v in bag.import_errors.items()},
            }
        )
    )


if __name__ == "__main__":
    main()
