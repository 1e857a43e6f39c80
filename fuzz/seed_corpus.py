#!/usr/bin/env python3
"""Seeds the fuzz corpora from weft's golden inputs, hostile fixtures, rule pack and the
hand-written queries in fuzz/seeds/.

Writes each seed to fuzz/corpus/<target>/<sha1 of its bytes>, the way libFuzzer names corpus
files, so seeding twice adds nothing. Usage: seed_corpus.py [TARGET...] (default: all).
"""

import hashlib
import re
import sys
from pathlib import Path

FUZZ = Path(__file__).resolve().parent
REPO = FUZZ.parent
GOLDEN = REPO / "ingest" / "tests" / "golden"
HOSTILE = REPO / "tests" / "fixtures" / "hostile"
RULES = REPO / "rules"
# Hand-written seeds of the query targets, one query per line.
SEEDS = FUZZ / "seeds"
# Matches the targets' -max_len: longer seeds would be cut anyway.
MAX_LEN = 65536
# The format of each hostile fixture; its mutations reach the others.
HOSTILE_FORMATS = {
    "binary.log": "text",
    "cef.log": "cef",
    "json.ndjson": "json",
    "syslog.log": "syslog3164",
    "timestamps.ndjson": "json",
}


def registered_formats():
    """The modules in FORMATS, in registry order: the selector byte's index."""
    source = (REPO / "ingest" / "src" / "parse" / "mod.rs").read_text()
    registry = re.search(r"pub static FORMATS[^=]*=\s*&\[(.*?)\];", source, re.S)
    if registry is None:
        sys.exit("seed_corpus.py: cannot find FORMATS in ingest/src/parse/mod.rs")
    return re.findall(r"(\w+)::SPEC", registry.group(1))


def inputs():
    """(format, file bytes) of every golden input and hostile fixture."""
    for directory in sorted(GOLDEN.iterdir()):
        for path in sorted(directory.iterdir()):
            name = path.name
            if name.endswith(".expected.ndjson") or name.endswith(".md"):
                continue
            yield directory.name, path.read_bytes()
    for path in sorted(HOSTILE.iterdir()):
        if path.name in HOSTILE_FORMATS:
            yield HOSTILE_FORMATS[path.name], path.read_bytes()


def records(data):
    return [line for line in data.split(b"\n") if line.strip()]


def write(target, seed):
    seed = seed[:MAX_LEN]
    directory = FUZZ / "corpus" / target
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / hashlib.sha1(seed).hexdigest()
    if not path.exists():
        path.write_bytes(seed)
        return 1
    return 0


def seed_parse_any_format(formats):
    written = 0
    for name, data in inputs():
        if name not in formats:
            continue
        index = formats.index(name)
        # One record per line, the whole file as one record (multi-line JSON documents), and
        # the whole file as a source of line records (bit 7 of the selector).
        for record in records(data):
            written += write("parse_any_format", bytes([index]) + record)
        written += write("parse_any_format", bytes([index]) + data)
        written += write("parse_any_format", bytes([0x80 | index]) + data)
    return written


def seed_frame(_formats):
    written = 0
    synthetic = [
        b"a\r\n\nbb\nccc",
        b'{\n  "a": "}\\"{",\n  "b": [1,\n 2]\n}\n{"c": {}}\n',
        b"[1,\n2], [3]\n,\n\"x\"\n",
        b"{\n \"a\": [1,\n",
    ]
    for _, data in inputs():
        synthetic.append(data)
    for data in synthetic:
        # Each mode (control % 3) with a 16-byte limit, through an 8-byte read buffer.
        for mode in range(3):
            written += write("frame", bytes([mode + 3 * 15, 7]) + data)
    return written


def seed_json_flatten(_formats):
    written = 0
    for _, data in inputs():
        if data.lstrip()[:1] in (b"{", b"["):
            written += write("json_flatten", data)
        for record in records(data):
            if record.lstrip()[:1] in (b"{", b"["):
                written += write("json_flatten", record)
    return written


def seed_sigma_rules(_formats):
    """Every rule file of weft's pack (weft's own, SigmaHQ's, baselines), whole and by document."""
    written = 0
    for path in sorted(RULES.rglob("*.yml")):
        data = path.read_bytes()
        written += write("sigma_rules", data)
        for document in data.split(b"\n---"):
            if document.strip():
                written += write("sigma_rules", document)
    return written


def seed_lines(target):
    written = 0
    for line in (SEEDS / f"{target}.txt").read_bytes().split(b"\n"):
        if line.strip():
            written += write(target, line)
    return written


def seed_search_query(_formats):
    return seed_lines("search_query")


def seed_sql_query(_formats):
    return seed_lines("sql_query")


SEEDERS = {
    "parse_any_format": seed_parse_any_format,
    "frame": seed_frame,
    "json_flatten": seed_json_flatten,
    "sigma_rules": seed_sigma_rules,
    "search_query": seed_search_query,
    "sql_query": seed_sql_query,
}


def main(targets):
    formats = registered_formats()
    for target in targets or SEEDERS:
        seeder = SEEDERS.get(target)
        if seeder is None:
            continue
        written = seeder(formats)
        total = len(list((FUZZ / "corpus" / target).iterdir()))
        print(f"seed_corpus: {target}: {written} new seeds, {total} in fuzz/corpus/{target}")


if __name__ == "__main__":
    main(sys.argv[1:])
