#!/usr/bin/env python3
"""FTS5 settings the store does not use, measured on the catch-up's statement (BENCHMARKS.md,
round thirty-five, "Measured and not taken").

The notes are `fts_catchup_profile.py`'s (8 to 24 words from a Zipf distribution over about 350
common words and 4,000 made-up names, keys `note/0000042`), in a table and an FTS5 table of the
store's shape (`key, body`, external content, `porter unicode61`), indexed in transactions of
4,096 rows (`SQLiteSearchIndexing.catchUpThreshold`) with the store's catch-up statement. Prints
the CPU time a row, the segments left and the mean time of 300 two-word `bm25()` searches.

    python3 scripts/bench/fts_merge_settings.py index N [automerge=4] [detail=full] [pgsz=4050]
        N rows indexed with those settings.
    python3 scripts/bench/fts_merge_settings.py burst auto|off
        10,000 rows, then eight bursts of 4,000 each caught up as a search would; `off` runs each
        burst's insert with `automerge` 0 in a savepoint (FTS5 flushes its hash at the release,
        so that flush merges nothing) and sets 4 again after it. Prints each catch-up's CPU time.
"""
import os
import random
import sqlite3
import sys
import tempfile
import time

from fts_notes import common, names, notes


def open_index(rows, detail="full"):
    texts = notes(rows)
    db = sqlite3.connect(os.path.join(tempfile.mkdtemp(), "settings.sqlite"), isolation_level=None)
    db.execute("PRAGMA journal_mode = wal")
    db.execute("PRAGMA synchronous = NORMAL")
    db.execute("CREATE TABLE r (id INTEGER PRIMARY KEY, key TEXT, body TEXT)")
    db.execute("BEGIN")
    db.executemany("INSERT INTO r VALUES (?, ?, ?)", [(i + 1, "note/%07d" % i, t) for i, t in enumerate(texts)])
    db.execute("COMMIT")
    db.execute("CREATE VIRTUAL TABLE f USING fts5(key, body, content = 'r', content_rowid = 'id', "
               "tokenize = 'porter unicode61', detail = %s)" % detail)
    return db


def catch_up(db, low, high, without_merges=False):
    db.execute("BEGIN IMMEDIATE")
    if without_merges:
        db.execute("SAVEPOINT catch_up")
        db.execute("INSERT INTO f (f, rank) VALUES ('automerge', 0)")
    db.execute("INSERT INTO f (rowid, key, body) SELECT id, key, body FROM r WHERE id > ? AND id <= ?", (low, high))
    if without_merges:
        db.execute("RELEASE catch_up")
        db.execute("INSERT INTO f (f, rank) VALUES ('automerge', 4)")
    db.execute("COMMIT")


def report(db):
    segments = len(set(row[0] for row in db.execute("SELECT segid FROM f_idx")))
    queries = [random.choice(names) + " " + random.choice(common[:60]) for _ in range(300)]
    start = time.perf_counter()
    for query in queries:
        db.execute("SELECT rowid FROM f WHERE f MATCH ? ORDER BY bm25(f) LIMIT 10", (query,)).fetchall()
    return "segments %d, search %.0f us" % (segments, (time.perf_counter() - start) / len(queries) * 1e6)


if sys.argv[1] == "index":
    rows = int(sys.argv[2])
    settings = dict(argument.split("=") for argument in sys.argv[3:])
    db = open_index(rows, settings.pop("detail", "full"))
    for name, value in settings.items():
        db.execute("INSERT INTO f (f, rank) VALUES (?, ?)", (name, int(value)))
    start = time.process_time()
    for low in range(0, rows, 4096):
        catch_up(db, low, min(rows, low + 4096))
    print("%s: %.2f us a row, %s" % (" ".join(sys.argv[3:]) or "defaults", (time.process_time() - start) / rows * 1e6, report(db)))
else:
    first, burst, rounds = 10_000, 4_000, 8
    db = open_index(first + burst * rounds)
    for low in range(0, first, 4096):
        catch_up(db, low, min(first, low + 4096))
    times = []
    for round in range(rounds):
        low = first + round * burst
        start = time.process_time()
        catch_up(db, low, low + burst, without_merges=sys.argv[2] == "off")
        times.append((time.process_time() - start) * 1e3)
    print("%s: catch-ups %s ms, %s" % (sys.argv[2], " ".join("%.1f" % t for t in times), report(db)))
