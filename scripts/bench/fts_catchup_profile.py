#!/usr/bin/env python3
"""The full-text catch-up's statement alone, for a profiler: where FTS5's instructions go.

Builds a table of N notes shaped like the bench's (8 to 24 words from a Zipf distribution over
about 350 common words and 4,000 made-up names, keys `note/0000042`), then an FTS5 table of the
store's shape (`key, body`, external content, `porter unicode61`), and indexes the rows in
transactions of 512 with the statement the store's catch-up runs
(`INSERT INTO f (rowid, key, body) SELECT ... WHERE id > ? AND id <= ?`; SQLiteSearchIndexing,
`catchUpThreshold`). The argument is the tokenizer; `skip` builds the tables and indexes
nothing, so the difference of two runs is the indexing alone.

To see FTS5's own functions, run it under callgrind against a build of the same SQLite with
symbols (Debian's is stripped): `apt-get source sqlite3` (a `deb-src` line), then in its tree
`mkdir bld && cd bld && ../configure --enable-fts5 && make sqlite3.c` (needs `tcl`) and
`gcc -g -O2 -fPIC -shared -DSQLITE_ENABLE_FTS5 -o libsqlite3.so.0 sqlite3.c -lpthread -ldl -lm`:

    LD_LIBRARY_PATH=PATH/bld valgrind --tool=callgrind --callgrind-out-file=cg.out \\
        "$(python3 -c 'import sys; print(sys.executable)')" scripts/bench/fts_catchup_profile.py
    callgrind_annotate --inclusive=yes --tree=calling cg.out | less   # fts5FlushOneHash, ...

(`python3` may be a shell shim: pass the interpreter itself to valgrind.) BENCHMARKS.md,
round thirty-four, has the split this gave.

    python3 scripts/bench/fts_catchup_profile.py ["porter unicode61" | unicode61 | ascii | skip] [N]
"""
import os
import sqlite3
import sys
import tempfile

from fts_notes import notes

TOKENIZER = sys.argv[1] if len(sys.argv) > 1 else "porter unicode61"
N = int(sys.argv[2]) if len(sys.argv) > 2 else 10240
BATCH = int(os.environ.get("BATCH", "512"))

texts = notes(N)

folder = tempfile.mkdtemp()
path = os.path.join(folder, "catchup.sqlite")
db = sqlite3.connect(path, isolation_level=None)
db.execute("PRAGMA journal_mode = wal")
db.execute("CREATE TABLE r (id INTEGER PRIMARY KEY, key TEXT, body TEXT)")
db.execute("BEGIN")
db.executemany("INSERT INTO r VALUES (?, ?, ?)", [(i + 1, "note/%07d" % i, text) for i, text in enumerate(texts)])
db.execute("COMMIT")
tokenizer = "ascii" if TOKENIZER == "skip" else TOKENIZER
db.execute("CREATE VIRTUAL TABLE f USING fts5(key, body, content = 'r', content_rowid = 'id', tokenize = '%s')" % tokenizer)
if TOKENIZER != "skip":
    for start in range(0, N, BATCH):
        db.execute("BEGIN")
        db.execute("INSERT INTO f (rowid, key, body) SELECT id, key, body FROM r WHERE id > ? AND id <= ?",
                   (start, start + BATCH))
        db.execute("COMMIT")
    segments = db.execute("SELECT count(*) FROM f_data").fetchone()[0]
    print("%s: %d rows indexed in transactions of %d; %d rows in f_data" % (TOKENIZER, N, BATCH, segments))
db.close()
for suffix in ("", "-wal", "-shm"):
    try:
        os.remove(path + suffix)
    except FileNotFoundError:
        pass
os.rmdir(folder)
