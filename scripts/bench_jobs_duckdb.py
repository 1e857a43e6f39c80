#!/usr/bin/env python3
"""The DuckDB peer of `cargo bench -p weft-query --bench jobs`: the same SQL rules on the same
Parquet files, with `events` restricted to the same window, timed the same way as weft's
scheduled SQL jobs (a fresh session per run, the rule and a count(*) of the window's events).

Usage: bench_jobs_duckdb.py DATA_DIR FROM_MICROS TO_MICROS RUNS NAME=SQL...
Prints one JSON object per rule: name, runs (seconds), median, rows, events_scanned.
Results are fetched as Arrow tables, as weft reads them.
"""

import json
import statistics
import sys
import time

import duckdb


def run_once(glob, from_micros, to_micros, sql):
    quoted = glob.replace("'", "''")
    connection = duckdb.connect()
    connection.execute("SET TimeZone = 'UTC'")
    connection.execute(
        "CREATE VIEW events AS SELECT * FROM "
        f"read_parquet('{quoted}', hive_partitioning = true) "
        f"WHERE time >= make_timestamptz({from_micros}) AND time < make_timestamptz({to_micros})"
    )
    # Arrow out, like weft (DuckDB's Python rows of timestamptz would need pytz).
    rows = connection.sql(sql).to_arrow_table().num_rows
    scanned = connection.execute("SELECT count(*) FROM events").fetchone()[0]
    connection.close()
    return rows, scanned


def main():
    data_dir, from_micros, to_micros, runs = sys.argv[1:5]
    glob = f"{data_dir}/events/*/*/[!.]*.parquet"
    threads = duckdb.connect().execute("SELECT current_setting('threads')").fetchone()[0]
    for argument in sys.argv[5:]:
        name, sql = argument.split("=", 1)
        timings = []
        rows, scanned = 0, 0
        for _ in range(int(runs)):
            start = time.perf_counter()
            rows, scanned = run_once(glob, int(from_micros), int(to_micros), sql)
            timings.append(time.perf_counter() - start)
        print(
            json.dumps(
                {
                    "name": name,
                    "version": duckdb.__version__,
                    "threads": threads,
                    "runs": timings,
                    "median": statistics.median(timings),
                    "rows": rows,
                    "events_scanned": scanned,
                }
            ),
            flush=True,
        )


if __name__ == "__main__":
    main()
