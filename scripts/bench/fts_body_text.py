#!/usr/bin/env python3
"""What the generated `body` column costs the full-text catch-up (BENCHMARKS.md, round
thirty-six; `SQLiteIndexedBody`).

The notes are `fts_catchup_profile.py`'s, stored as the store stores them (JSON strings in
`value`, the store's generated `body` column beside a plain copy of the text), indexed by an
FTS5 table of the store's shape (`key, body`, external content, `porter unicode61`, automerge 8)
in transactions of 4,096 rows with the catch-up's statement, once reading `body` and once the
plain copy. Prints the CPU time a row of each, alternated ROUNDS times.

    python3 scripts/bench/fts_body_text.py [ROWS] [ROUNDS]      (default 40,960 and 3)
"""
import json
import os
import sqlite3
import sys
import tempfile
import time

from fts_notes import notes


def index(rows, texts, column):
    db = sqlite3.connect(os.path.join(tempfile.mkdtemp(), "body.sqlite"), isolation_level=None)
    db.execute("PRAGMA journal_mode = wal")
    db.execute("PRAGMA synchronous = NORMAL")
    db.execute("""CREATE TABLE r (id INTEGER PRIMARY KEY, key TEXT, value TEXT, plain TEXT,
        body TEXT GENERATED ALWAYS AS (
            CASE WHEN json_type(value) = 'text' THEN json_extract(value, '$') ELSE value END) VIRTUAL)""")
    db.execute("BEGIN")
    db.executemany("INSERT INTO r (id, key, value, plain) VALUES (?, ?, ?, ?)",
                   [(i + 1, "note/%07d" % i, json.dumps(t, ensure_ascii=False), t) for i, t in enumerate(texts)])
    db.execute("COMMIT")
    db.execute("CREATE VIRTUAL TABLE f USING fts5(key, body, content = 'r', content_rowid = 'id', tokenize = 'porter unicode61')")
    db.execute("INSERT INTO f (f, rank) VALUES ('automerge', 8)")
    start = time.process_time()
    for low in range(0, rows, 4096):
        db.execute("BEGIN IMMEDIATE")
        db.execute("INSERT INTO f (rowid, key, body) SELECT id, key, %s FROM r WHERE id > ? AND id <= ?" % column,
                   (low, low + 4096))
        db.execute("COMMIT")
    return (time.process_time() - start) / rows * 1e6


def main():
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 40960
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    texts = notes(rows)
    print("%d rows, catch-ups of 4,096, SQLite %s; CPU µs a row" % (rows, sqlite3.sqlite_version))
    for _ in range(rounds):
        print("body (json_type, json_extract) %.2f   plain text %.2f" % (index(rows, texts, "body"), index(rows, texts, "plain")))


if __name__ == "__main__":
    main()
