#!/usr/bin/env python3
"""How FTS5's segment count after many small writes costs a search, and what merge work buys.

FTS5 writes each transaction's index entries as a new segment and merges segments a little per
write, in proportion to what was written, so after many single-row transactions (single puts)
the segments pile up; every word a query looks up is looked up in every segment. This script
builds the same FTS5 table as the SQLite store (`key, body`, `porter unicode61`) with Python's
sqlite3 in WAL mode, synchronous NORMAL: a fill of N rows in transactions of 1,000, then 800
single-row transactions, with and without FTS5's `'merge'` command run every few of them (the
store runs `('merge', 32)` every 8 transactions: SQLiteSearchIndexing.mergeInterval/mergePages).
It prints each policy's segment count (from the structure record), the single transaction's
mean / p50 / p99, and the mean time of 1,000 two-word `bm25()` searches (limit 10).

    python3 scripts/bench/fts_segments.py            # 1,000 rows filled
    python3 scripts/bench/fts_segments.py 10000      # 10,000
"""
import os
import random
import sqlite3
import sys
import tempfile
import time

WORDS = ["w%d" % i for i in range(4000)]


def varint(block, offset):
    """SQLite's varint at `offset`: (value, next offset)."""
    value = 0
    for position in range(9):
        byte = block[offset]
        offset += 1
        if position == 8:
            return (value << 8) | byte, offset
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            break
    return value, offset


def segments(db):
    """Levels and segments from FTS5's structure record (row 10 of the %_data table)."""
    block = db.execute("SELECT block FROM fts_data WHERE id = 10").fetchone()[0]
    levels, offset = varint(block, 4)
    count, _ = varint(block, offset)
    return levels, count


def run(label, fill, every=None, singles=800):
    random.seed(1)

    def note():
        return " ".join(
            random.choice(WORDS[:200]) if random.random() < 0.5 else random.choice(WORDS)
            for _ in range(random.randint(8, 24)))

    folder = tempfile.mkdtemp(prefix="fts-segments-")
    db = sqlite3.connect(os.path.join(folder, "fts.sqlite"), isolation_level=None)
    db.execute("PRAGMA journal_mode = wal")
    db.execute("PRAGMA synchronous = normal")
    db.execute("CREATE VIRTUAL TABLE fts USING fts5(key, body, tokenize = 'porter unicode61')")
    for start in range(0, fill, 1000):
        db.execute("BEGIN")
        for index in range(start, min(fill, start + 1000)):
            db.execute("INSERT INTO fts (rowid, key, body) VALUES (?, ?, ?)", (index + 1, "note/%07d" % index, note()))
        db.execute("COMMIT")
    latencies = []
    for index in range(singles):
        began = time.perf_counter()
        db.execute("BEGIN")
        db.execute("INSERT INTO fts (rowid, key, body) VALUES (?, ?, ?)", (fill + 1000 + index, "p/%d" % index, note()))
        if every and (index + 1) % every[0] == 0:
            db.execute("INSERT INTO fts (fts, rank) VALUES ('merge', ?)", (every[1],))
        db.execute("COMMIT")
        latencies.append((time.perf_counter() - began) * 1e6)
    latencies.sort()
    queries = [(random.choice(WORDS), random.choice(WORDS)) for _ in range(1000)]
    began = time.perf_counter()
    for first, second in queries:
        db.execute("SELECT rowid, bm25(fts) FROM fts WHERE fts MATCH ? ORDER BY rank LIMIT 10",
                   ('"%s" OR "%s"' % (first, second),)).fetchall()
    search = (time.perf_counter() - began) / len(queries) * 1e6
    levels, count = segments(db)
    db.close()
    print("| %s | %d | %.1f / %.1f / %.1f | %.1f |" % (
        label, count, sum(latencies) / len(latencies), latencies[len(latencies) // 2],
        latencies[int(len(latencies) * 0.99)], search), flush=True)


def main():
    fill = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    print("%d rows filled, then 800 single-row transactions (SQLite %s)\n" % (fill, sqlite3.sqlite_version))
    print("| merge policy | segments | single transaction mean / p50 / p99 µs | search µs |")
    print("|---|---:|---:|---:|")
    run("FTS5's own merging only", fill)
    for interval, pages in [(8, 32), (8, 64), (2, 16)]:
        run("('merge', %d) every %d" % (pages, interval), fill, every=(interval, pages))


if __name__ == "__main__":
    main()
