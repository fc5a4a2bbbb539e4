#!/usr/bin/env python3
"""What a full-text index in a file of its own, kept by a second process, would give the write rows.

A probe for the design named as the next lever in BENCHMARKS.md (rounds thirty-seven and
thirty-eight): today the FTS5 index lives in the records' file, so indexing a burst of writes
(the catch-up, every 4,096 noted rows and before a search) holds the file's only write lock,
and writers wait for it. With the index in a second file, a second process could index on the
machine's other core while the writers keep the records' lock.

Two layouts, the same work, Python's sqlite3 (WAL, synchronous FULL), in a fresh folder:

- one file: batches of BATCH new records, each in one transaction with its change-log rows and
  its rows' notes (`memory_fts_pending`, the store's schema); every 4,096 noted rows the
  transaction also indexes them into FTS5 and empties the notes (the store's catch-up); the
  rows still noted at the end are indexed in one last transaction;
- two files: the same batches with their notes (a log, in the order written), and a second
  process that loops: reads the notes past its mark and the rows' texts in one read snapshot of
  the records' file, indexes them into FTS5 in the second file (contentless) and sets its mark
  in the same transaction (FULL); the writer removes the notes up to that mark in its next
  transaction (the indexer never takes the records' write lock: waiting for it, SQLite's busy
  handler sleeps for milliseconds at a time).

Both are timed from the first batch to the moment every written row is in an index. Printed
per round: puts/s for each layout, and for the two-file one how long the indexer ran behind
the writer at the end.

    python3 scripts/bench/fts_sidecar.py [FOLDER] [--rounds 3] [--batches 60] [--batch 1000]
"""

import argparse
import multiprocessing
import os
import shutil
import sqlite3
import tempfile
import time

WORDS = ["user", "prefers", "meeting", "project", "deadline", "review", "client", "coffee", "friday", "release",
         "budget", "design", "launch", "customer", "ticket", "backlog", "sprint", "travel", "invoice", "office"]


def note(index):
    """A note of about 110 bytes, stored as a JSON string (as the store stores text values)."""
    text = " ".join(WORDS[(index * 7 + position * 3 + index // 20) % len(WORDS)] for position in range(14))
    return f'"{text} #{index}"'


RECORDS = """
CREATE TABLE memory_records (
    id INTEGER PRIMARY KEY, namespace TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,
    version INTEGER NOT NULL, created_at REAL NOT NULL, updated_at REAL NOT NULL, author TEXT,
    expires_at REAL, size INTEGER NOT NULL, UNIQUE (namespace, key));
CREATE TABLE memory_changes (
    namespace TEXT NOT NULL, sequence INTEGER NOT NULL, key TEXT NOT NULL, operation TEXT NOT NULL,
    version INTEGER NOT NULL, author TEXT, time REAL NOT NULL, PRIMARY KEY (namespace, sequence)) WITHOUT ROWID;
"""


def connect(path):
    db = sqlite3.connect(path, isolation_level=None, timeout=30)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = FULL")
    return db


def body(value):
    return value[1:-1]


def write_batch(db, batch, size, now):
    """One batch's records, change-log rows and notes, in the caller's transaction."""
    start = batch * size
    rows = [(start + i + 1, "bench", f"batch/{start + i:08d}", note(start + i), now) for i in range(size)]
    db.executemany(
        "INSERT INTO memory_records (id, namespace, key, value, version, created_at, updated_at, size) "
        "VALUES (?, ?, ?, ?, 1, ?, ?, 110)", [(r[0], r[1], r[2], r[3], r[4], r[4]) for r in rows])
    db.executemany(
        "INSERT INTO memory_changes VALUES ('bench', ?, ?, 'put', 1, NULL, ?)", [(r[0], r[2], now) for r in rows])
    db.executemany("INSERT INTO notes (id) VALUES (?)", [(r[0],) for r in rows])


def one_file(folder, batches, size):
    db = connect(os.path.join(folder, "one.sqlite"))
    db.executescript(RECORDS + """
        CREATE TABLE notes (id INTEGER PRIMARY KEY);
        CREATE VIRTUAL TABLE memory_fts USING fts5(key, body, content = '', tokenize = 'porter unicode61');
        INSERT INTO memory_fts (memory_fts, rank) VALUES ('automerge', 8);
    """)
    db.create_function("body", 1, body, deterministic=True)
    catch_up = ("INSERT INTO memory_fts (rowid, key, body) SELECT r.id, r.key, body(r.value) "
                "FROM notes n JOIN memory_records r ON r.id = n.id")
    began = time.perf_counter()
    noted = 0
    for batch in range(batches):
        db.execute("BEGIN IMMEDIATE")
        write_batch(db, batch, size, time.time())
        noted += size
        if noted >= 4096:
            db.execute(catch_up)
            db.execute("DELETE FROM notes")
            noted = 0
        db.execute("COMMIT")
    db.execute("BEGIN IMMEDIATE")
    db.execute(catch_up)
    db.execute("DELETE FROM notes")
    db.execute("COMMIT")
    elapsed = time.perf_counter() - began
    indexed = db.execute("SELECT count(*) FROM memory_fts_docsize").fetchone()[0]
    assert indexed == batches * size, indexed
    db.close()
    return elapsed


def indexer(folder, total, stop, result):
    """The second process: indexes the notes into the second file until `total` rows are in."""
    records = connect(os.path.join(folder, "two.sqlite"))
    records.create_function("body", 1, body, deterministic=True)
    index = connect(os.path.join(folder, "two-search.sqlite"))
    mark, indexed, cycles = 0, 0, 0
    while indexed < total:
        records.execute("BEGIN")
        noted = records.execute(
            "SELECT n.seq, r.id, r.key, body(r.value) FROM notes n JOIN memory_records r ON r.id = n.id "
            "WHERE n.seq > ? ORDER BY n.seq", (mark,)).fetchall()
        records.execute("COMMIT")
        if not noted:
            if stop.is_set() and indexed >= total:
                break
            time.sleep(0.0005)
            continue
        index.execute("BEGIN IMMEDIATE")
        index.executemany("INSERT INTO memory_fts (rowid, key, body) VALUES (?, ?, ?)", [row[1:] for row in noted])
        mark = noted[-1][0]
        index.execute("UPDATE mark SET seq = ?", (mark,))
        index.execute("COMMIT")
        indexed += len(noted)
        cycles += 1
    result.put((time.perf_counter(), cycles))


def two_files(folder, batches, size):
    db = connect(os.path.join(folder, "two.sqlite"))
    db.executescript(RECORDS + "CREATE TABLE notes (seq INTEGER PRIMARY KEY, id INTEGER NOT NULL);")
    index = connect(os.path.join(folder, "two-search.sqlite"))
    index.executescript("""
        CREATE VIRTUAL TABLE memory_fts USING fts5(key, body, content = '', tokenize = 'porter unicode61');
        INSERT INTO memory_fts (memory_fts, rank) VALUES ('automerge', 8);
        CREATE TABLE mark (seq INTEGER NOT NULL); INSERT INTO mark VALUES (0);
    """)
    stop = multiprocessing.Event()
    result = multiprocessing.Queue()
    worker = multiprocessing.Process(target=indexer, args=(folder, batches * size, stop, result))
    worker.start()
    time.sleep(0.2)  # the indexer's start is not timed
    began = time.perf_counter()
    for batch in range(batches):
        db.execute("BEGIN IMMEDIATE")
        write_batch(db, batch, size, time.time())
        db.execute("DELETE FROM notes WHERE seq <= ?", index.execute("SELECT seq FROM mark").fetchone())
        db.execute("COMMIT")
    written = time.perf_counter()
    stop.set()
    done, cycles = result.get()
    worker.join()
    indexed = index.execute("SELECT count(*) FROM memory_fts_docsize").fetchone()[0]
    assert indexed == batches * size, indexed
    index.close()
    db.close()
    return done - began, written - began, cycles


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder", nargs="?")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batches", type=int, default=60)
    parser.add_argument("--batch", type=int, default=1000)
    args = parser.parse_args()
    base = args.folder or tempfile.mkdtemp(prefix="fts-sidecar-")
    total = args.batches * args.batch
    print(f"{args.batches} batches of {args.batch} puts, WAL, synchronous FULL, SQLite {sqlite3.sqlite_version}")
    print("| round | one file, puts/s | two files, puts/s (all indexed) | two files, writer alone | indexer behind at the end | index transactions |")
    print("|---:|---:|---:|---:|---:|---:|")
    try:
        for round_ in range(1, args.rounds + 1):
            folder = os.path.join(base, f"round-{round_}")
            os.makedirs(folder)
            one = one_file(folder, args.batches, args.batch)
            both, writer, cycles = two_files(folder, args.batches, args.batch)
            print(f"| {round_} | {total / one:,.0f} | {total / both:,.0f} | {total / writer:,.0f} | "
                  f"{(both - writer) * 1000:.1f} ms | {cycles} |", flush=True)
            shutil.rmtree(folder)
    finally:
        if not args.folder:
            shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
