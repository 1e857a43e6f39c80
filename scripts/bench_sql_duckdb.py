#!/usr/bin/env python3
"""The DuckDB peer of `cargo bench -p weft-query --bench sql`: one analyst query over the same
Parquet files, timed the way weft's SQL endpoint is (a fresh connection per run with `events`
defined over the whole store, the query, the result fetched as an Arrow table).

Usage: bench_sql_duckdb.py DATA_DIR RUNS SQL
Prints one JSON object: version, threads, runs (seconds), median, and the last run's rows as
JSON (timestamps in weft's RFC 3339 form, decimals as numbers) for the bench to compare.
"""

import datetime
import json
import statistics
import sys
import time

import duckdb
import pyarrow as pa


def connect(glob):
    quoted = glob.replace("'", "''")
    connection = duckdb.connect()
    connection.execute("SET TimeZone = 'UTC'")
    # `date` and `hour` stay text, as weft declares them.
    connection.execute(
        "CREATE VIEW events AS SELECT * FROM read_parquet("
        f"'{quoted}', hive_partitioning = true, hive_types_autocast = false)"
    )
    return connection


def run_once(glob, sql):
    connection = connect(glob)
    table = connection.sql(sql).to_arrow_table()
    connection.close()
    return table


EPOCH = datetime.datetime(1970, 1, 1)


def column_values(column):
    kind = column.type
    if pa.types.is_dictionary(kind):
        column = column.cast(kind.value_type)
        kind = kind.value_type
    if pa.types.is_timestamp(kind):
        micros = column.cast(pa.timestamp("us", tz=kind.tz)).cast(pa.int64()).to_pylist()
        return [
            None
            if value is None
            else (EPOCH + datetime.timedelta(microseconds=value)).strftime(
                "%Y-%m-%dT%H:%M:%S.%fZ"
            )
            for value in micros
        ]
    if pa.types.is_decimal(kind):
        return [None if value is None else float(value) for value in column.to_pylist()]
    return column.to_pylist()


def main():
    data_dir, runs, sql = sys.argv[1:4]
    glob = f"{data_dir}/events/*/*/[!.]*.parquet"
    threads = duckdb.connect().execute("SELECT current_setting('threads')").fetchone()[0]
    timings = []
    table = None
    for _ in range(int(runs)):
        start = time.perf_counter()
        table = run_once(glob, sql)
        timings.append(time.perf_counter() - start)
    columns = [column_values(column) for column in table.columns]
    rows = [list(row) for row in zip(*columns)] if columns else []
    print(
        json.dumps(
            {
                "version": duckdb.__version__,
                "threads": threads,
                "runs": timings,
                "median": statistics.median(timings),
                "rows": rows,
            },
            default=str,
        )
    )


if __name__ == "__main__":
    main()
