#!/usr/bin/env python3
"""A durable single put at SQLite page sizes of 1,024, 2,048 and 4,096 bytes (BENCHMARKS.md, round thirty-eight).

Each round, per page size, on a fresh file in FOLDER (WAL, synchronous FULL, Python's
sqlite3): 10,000 records filled in one transaction, then PUTS puts of new keys, each its own
transaction with the store's work (the namespace's counter, the record with its unique key, a
change-log row, a note for the full-text index). Prints the median time of a put and the rate.

    python3 scripts/bench/page_size_put.py [FOLDER] [--puts 3000] [--rounds 2]
"""

import argparse
import os
import shutil
import statistics
import tempfile
import time
import sqlite3

SCHEMA = """
CREATE TABLE r (id INTEGER PRIMARY KEY, namespace TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,
                version INT, created REAL, updated REAL, author TEXT, expires REAL, size INT, UNIQUE (namespace, key));
CREATE TABLE ns (namespace TEXT PRIMARY KEY, last INT) WITHOUT ROWID;
CREATE TABLE ch (namespace TEXT, seq INT, key TEXT, op TEXT, version INT, author TEXT, time REAL,
                 PRIMARY KEY (namespace, seq)) WITHOUT ROWID;
CREATE TABLE pend (id INTEGER PRIMARY KEY, key TEXT, body TEXT);
INSERT INTO ns VALUES ('bench', 0);
"""


def run(folder, page_size, puts, prefill=10_000):
    path = os.path.join(folder, f"page-{page_size}.sqlite")
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(path + suffix):
            os.remove(path + suffix)
    db = sqlite3.connect(path, isolation_level=None)
    db.execute(f"PRAGMA page_size = {page_size}")  # before the file's first write
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = FULL")
    db.executescript(SCHEMA)
    value = '"' + "the quick brown fox jumps over the lazy dog " * 3 + '"'
    insert = "INSERT INTO r (namespace, key, value, version, created, updated, size) VALUES (?, ?, ?, 1, 1.0, 1.0, ?)"
    db.execute("BEGIN")
    for index in range(prefill):
        db.execute(insert, ("bench", f"prefill/{index * 7919 % prefill:08d}", value, len(value)))
    db.execute("COMMIT")
    times = []
    for index in range(puts):
        key = f"put/{index * 104729 % 1000003:08d}"
        began = time.perf_counter()
        db.execute("BEGIN IMMEDIATE")
        db.execute("UPDATE ns SET last = last + 1 WHERE namespace = 'bench'")
        row = db.execute(insert, ("bench", key, value, len(value))).lastrowid
        db.execute("INSERT INTO ch VALUES (?, ?, ?, 'put', 1, NULL, 1.0)", ("bench", index + 1, key))
        db.execute("INSERT INTO pend (id) VALUES (?)", (row,))
        db.execute("COMMIT")
        times.append(time.perf_counter() - began)
    db.close()
    return statistics.median(times) * 1e6, puts / sum(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder", nargs="?")
    parser.add_argument("--puts", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    folder = args.folder or tempfile.mkdtemp(prefix="page-size-")
    print(f"SQLite {sqlite3.sqlite_version}, WAL, synchronous FULL, {args.puts} puts a size a round")
    print("| round | page size | put p50 µs | puts/s |")
    print("|---:|---:|---:|---:|")
    try:
        for round_ in range(1, args.rounds + 1):
            for page_size in (1024, 2048, 4096):
                median, rate = run(folder, page_size, args.puts)
                print(f"| {round_} | {page_size} | {median:.0f} | {rate:,.0f} |", flush=True)
    finally:
        if not args.folder:
            shutil.rmtree(folder, ignore_errors=True)
        else:
            for page_size in (1024, 2048, 4096):
                for suffix in ("", "-wal", "-shm"):
                    path = os.path.join(folder, f"page-{page_size}.sqlite{suffix}")
                    if os.path.exists(path):
                        os.remove(path)


if __name__ == "__main__":
    main()
