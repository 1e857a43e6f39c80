#!/usr/bin/env python3
"""Turns criterion's results into the README's performance table, with pyarrow's JSON reader
measured on the same CloudTrail file in the same run (single-threaded, like weft's benches)."""

import json
import os
import pathlib
import statistics
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
# Where cargo wrote the benches' output: CARGO_TARGET_DIR when set (relative to the repository,
# as cargo reads it), else the workspace's `target`.
TARGET = ROOT / os.environ.get("CARGO_TARGET_DIR", "target")
CRITERION = TARGET / "criterion"
CLOUDTRAIL = TARGET / "bench-data" / "cloudtrail.ndjson"


def criterion_results():
    """(group/function, bytes per iteration, elements per iteration, mean seconds) per bench."""
    results = []
    for benchmark in sorted(CRITERION.glob("**/new/benchmark.json")):
        meta = json.loads(benchmark.read_text())
        estimates = json.loads((benchmark.parent / "estimates.json").read_text())
        throughput = meta.get("throughput") or {}
        results.append(
            (
                meta["full_id"],
                throughput.get("Bytes"),
                throughput.get("Elements"),
                estimates["mean"]["point_estimate"] / 1e9,
            )
        )
    return results


def pyarrow_seconds(path, repeats=7):
    import pyarrow.json as pj

    options = pj.ReadOptions(use_threads=False, block_size=1 << 24)
    timings = []
    for _ in range(repeats):
        start = time.perf_counter()
        table = pj.read_json(path, read_options=options)
        timings.append(time.perf_counter() - start)
        assert table.num_rows > 0
    return statistics.median(timings)


def main():
    results = criterion_results()
    if not results:
        raise SystemExit(f"no criterion results under {CRITERION}: run scripts/bench")
    pyarrow = None
    if CLOUDTRAIL.exists():
        pyarrow = CLOUDTRAIL.stat().st_size / pyarrow_seconds(CLOUDTRAIL)
    print("| benchmark | throughput | records/s | vs pyarrow.json (same file, 1 thread) |")
    print("| --- | --- | --- | --- |")
    for name, bytes_, elements, seconds in results:
        rate = f"{bytes_ / seconds / 1e6:,.0f} MB/s" if bytes_ else ""
        records = f"{elements / seconds / 1e6:,.2f} M/s" if elements else ""
        ratio = ""
        if pyarrow and bytes_ and "cloudtrail" in name:
            ratio = f"{(bytes_ / seconds) / pyarrow:.2f}x"
        print(f"| `{name}` | {rate} | {records} | {ratio} |")
    if pyarrow:
        print(f"| pyarrow.json.read_json, CloudTrail file | {pyarrow / 1e6:,.0f} MB/s | | 1.00x |")


if __name__ == "__main__":
    main()
