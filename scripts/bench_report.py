#!/usr/bin/env python3
"""The README's performance table: one row per stage of weft, with the peer measured in the
same run, their ratio and the goal, from what scripts/bench left under
$CARGO_TARGET_DIR/bench-results/ (each stage's output) and criterion's results. pyarrow's JSON
reader is timed here, on the CloudTrail file of the normalize bench, single-threaded like
weft's benches. A stage that was not run says so."""

import json
import math
import os
import pathlib
import re
import statistics
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
# Where cargo wrote the benches' output: CARGO_TARGET_DIR when set (relative to the repository,
# as cargo reads it), else the workspace's `target`.
TARGET = ROOT / os.environ.get("CARGO_TARGET_DIR", "target")
CRITERION = TARGET / "criterion"
RESULTS = TARGET / "bench-results"
CLOUDTRAIL = TARGET / "bench-data" / "cloudtrail.ndjson"


def criterion_results():
    """Each criterion benchmark's (bytes per second, elements per second), by its full id."""
    results = {}
    for benchmark in CRITERION.glob("**/new/benchmark.json"):
        meta = json.loads(benchmark.read_text())
        estimates = json.loads((benchmark.parent / "estimates.json").read_text())
        seconds = estimates["mean"]["point_estimate"] / 1e9
        throughput = meta.get("throughput") or {}
        results[meta["full_id"]] = tuple(
            throughput[key] / seconds if throughput.get(key) else None
            for key in ("Bytes", "Elements")
        )
    return results


CRITERION_RESULTS = None


def criterion(full_id):
    """(bytes per second, elements per second) of one criterion benchmark, or None."""
    global CRITERION_RESULTS
    if CRITERION_RESULTS is None:
        CRITERION_RESULTS = criterion_results()
    return CRITERION_RESULTS.get(full_id)


def output(stage):
    """What a stage printed in this run, or None when it was not run."""
    path = RESULTS / f"{stage}.txt"
    return path.read_text(errors="replace") if path.exists() else None


def pyarrow_rate(path, repeats=7):
    """pyarrow.json.read_json over `path`, one thread: bytes per second (median)."""
    import pyarrow.json as pj

    options = pj.ReadOptions(use_threads=False, block_size=1 << 24)
    timings = []
    for _ in range(repeats):
        start = time.perf_counter()
        table = pj.read_json(path, read_options=options)
        timings.append(time.perf_counter() - start)
        assert table.num_rows > 0
    return path.stat().st_size / statistics.median(timings)


def mb(rate):
    return f"{rate / 1e6:,.0f} MB/s"


def per_second(rate, unit):
    if rate >= 1e6:
        return f"{rate / 1e6:,.2f} M {unit}/s"
    return f"{rate / 1e3:,.1f} k {unit}/s"


def verdict(met):
    return "met" if met else "**not met**"


NOT_RUN = "not run in this run"


def normalize_rows(rows):
    ran = output("normalize") is not None
    pyarrow = pyarrow_rate(CLOUDTRAIL) if ran and CLOUDTRAIL.exists() else None
    for format_ in ("json", "cloudtrail", "auto"):
        found = ran and criterion(f"normalize/cloudtrail_800B/{format_}")
        if not found or not found[0]:
            rows.append((f"JSON → normalized Arrow, `--format {format_}`", "CloudTrail records, ~800 B", NOT_RUN, "", "", "≥ 400 MB/s per core"))
            continue
        rate = found[0]
        peer = f"pyarrow.json 1 thread: {mb(pyarrow)}" if pyarrow else "pyarrow not run"
        ratio = f"{rate / pyarrow:.2f}×" if pyarrow else ""
        rows.append((f"JSON → normalized Arrow, `--format {format_}`", "CloudTrail records, ~800 B", mb(rate), peer, ratio, f"≥ 400 MB/s per core: {verdict(rate >= 400e6)}"))
    for bench, label in (("syslog3164", "syslog (RFC 3164, auth.log) → Arrow"), ("access_log", "nginx access log → Arrow"), ("cef", "CEF → Arrow")):
        found = ran and criterion(f"normalize_lines/{bench}")
        if not found or not found[1]:
            rows.append((label, "generated lines", NOT_RUN, "", "", "≥ 1 M lines/s per core"))
            continue
        rate = found[1]
        rows.append((label, "generated lines", per_second(rate, "lines"), "", "", f"≥ 1 M lines/s per core: {verdict(rate >= 1e6)}"))


def index_rows(rows):
    with_index = output("index") is not None and criterion("segment/with_index")
    parquet_only = criterion("segment/parquet_only")
    if not with_index or not with_index[1]:
        rows.append(("writing a segment: Parquet + search index", "CloudTrail records", NOT_RUN, "", "", ""))
        return
    peer = f"Parquet alone: {per_second(parquet_only[1], 'events')}" if parquet_only and parquet_only[1] else ""
    ratio = f"{with_index[1] / parquet_only[1]:.2f}×" if parquet_only and parquet_only[1] else ""
    rows.append(("writing a segment: Parquet + search index", "CloudTrail records", per_second(with_index[1], "events"), peer, ratio, ""))


def detect_rows(rows):
    text = output("detect")
    sigma = text and re.search(r"sigma bench: (\d+) events; weft (\d+) rules, (\d+) events/s .*?; rsigma (\d+) rules, (\d+) events/s; ratio ([\d.]+)x", text)
    if sigma:
        weft, peer = float(sigma[3]), float(sigma[5])
        rows.append(("Sigma matching (batch)", f"{sigma[2]} SigmaHQ process_creation rules, {int(sigma[1]):,} Sysmon events", per_second(weft, "events"), f"rsigma-eval: {per_second(peer, 'events')}", f"{weft / peer:,.0f}×", f"≥ 100k events/s per core: {verdict(weft >= 100e3)}"))
    else:
        rows.append(("Sigma matching (batch)", "SigmaHQ process_creation rules", NOT_RUN, "", "", "≥ 100k events/s per core"))
    cases = re.findall(r"correlation bench (\w+): (\d+) signals/s, alert latency p99 <= ([\d.]+) ms.*?rsigma (\d+) signals/s", text or "")
    if not cases:
        rows.append(("correlation", "200k signals, 100k live keys", NOT_RUN, "", "", "≥ 500k signals/s per core"))
    for name, weft, p99, peer in cases:
        weft, peer = float(weft), float(peer)
        rows.append((f"correlation `{name}`", f"200k signals, 100k live keys; p99 {p99} ms per chunk", per_second(weft, "signals"), f"rsigma-eval: {per_second(peer, 'signals')}", f"{weft / peer:.2f}×", f"≥ 500k signals/s per core: {verdict(weft >= 500e3)}"))


def sql_rows(rows):
    text = output("sql")
    found = text and re.search(r"geometric mean of weft/DuckDB over (\d+) queries: ([\d.]+)×", text)
    size = text and re.search(r"\| query \((\d+) events", text)
    if not found:
        rows.append(("SQL, analysts' queries", "one stored hour", NOT_RUN, "", "", "≤ 1.2× DuckDB"))
        return
    ratio = float(found[2])
    events = f"{int(size[1]):,} events" if size else "one hour"
    rows.append(("SQL, analysts' queries (geometric mean)", f"{found[1]} queries over one stored hour, {events}", "see the SQL table", "DuckDB, same Parquet", f"{ratio:.2f}×", f"≤ 1.2× DuckDB: {verdict(ratio <= 1.2)}"))


def kafka_rows(rows):
    text = output("kafka")
    found = text and re.search(r"kafka ingest \(mock cluster.*?\): (\d+) events/s, ([\d.]+) MB/s sustained over (\d+) backlog records \((\d+) events/s over (\d+) with the last checkpoint's time bound\); peak RSS (\d+) MiB", text)
    peer = text and re.search(r"peer: librdkafka consumer alone.*?: (\d+) records/s", text)
    latency = text and re.search(r"produce -> durable in a stream of (\d+) records/s.*?p50 ([\d.]+) s, p99 ([\d.]+) s.*?stops, its last records are durable after ([\d.]+) s", text)
    tansu = text and re.search(r"kafka ingest \(real broker .*?\): (\d+) events/s, ([\d.]+) MB/s", text)
    if not found:
        rows.append(("Kafka → normalized → durable Parquet + index", "~930 B JSON records", NOT_RUN, "", "", "≥ 50k events/s"))
        return
    weft = float(found[1])
    peer_text = f"librdkafka consumer alone: {per_second(float(peer[1]), 'records')}" if peer else ""
    ratio = f"{weft / float(peer[1]):.2f}×" if peer else ""
    rows.append(("Kafka → normalized → durable Parquet + index, 1 worker", f"mock cluster, {int(found[3]):,} records of a backlog preloaded over 128 partitions, ~940 B JSON, while checkpoints are cut by size; peak RSS {found[6]} MiB", f"{per_second(weft, 'events')}, {found[2]} MB/s (with the backlog's last checkpoint, cut by the 5 s time bound: {per_second(float(found[4]), 'events')})", peer_text, ratio, f"≥ 50k events/s: {verdict(weft >= 50e3)}"))
    if latency:
        rows.append(("Kafka produce → durable", f"a stream of {int(latency[1]):,} records/s, 5 s flush bound", f"p50 {latency[2]} s, p99 {latency[3]} s; once the stream stops, its last records after {latency[4]} s", "", "", ""))
    if tansu:
        rows.append(("Kafka (tansu 0.6.0, sqlite) → durable", "the same records, 4 partitions", f"{per_second(float(tansu[1]), 'events')}, {tansu[2]} MB/s", "", "", ""))


def search_rows(rows):
    text = output("search")
    found = text and re.search(r"mix \(all four\)\s+(\d+) requests\s+p50\s+([\d.]+) ms\s+p99\s+([\d.]+) ms", text)
    if not found:
        rows.append(("event search, newest 100, 10 clients over HTTP", "10M events", NOT_RUN + " (WEFT_BENCH_SEARCH=1)", "", "", "p99 ≤ 50 ms"))
        return
    p99 = float(found[3])
    rows.append(("event search, newest 100, 10 clients over HTTP", f"10M events, four queries in rotation, {int(found[1]):,} requests", f"p50 {found[2]} ms, p99 {found[3]} ms", "", "", f"p99 ≤ 50 ms: {verdict(p99 <= 50)}"))


def main():
    rows = []
    normalize_rows(rows)
    index_rows(rows)
    detect_rows(rows)
    sql_rows(rows)
    kafka_rows(rows)
    search_rows(rows)
    load = output("load")
    if load:
        print(f"load average (1, 5, 15 min) before and after: {load.strip()}")
        print()
    print("| stage | input | weft | peer (same run) | weft/peer | goal |")
    print("| --- | --- | --- | --- | --- | --- |")
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
