#!/usr/bin/env python3
"""What reading a write-ahead log's file times before each sync costs a durable commit
(BENCHMARKS.md, round thirty-seven: the log synced after the write lock, measured and dropped).

Each round makes a fresh SQLite file in WAL mode at `synchronous = NORMAL` and times N
autocommit inserts of 200 bytes, each followed by `fdatasync` of the `-wal` file through a
descriptor of its own (what `synchronous = FULL` does inside the commit). One series does only
that; the other calls `fstat` on the descriptor before each sync. Prints the median µs a commit
of each series, alternated ROUNDS times.

On round thirty-seven's machine (Linux 6.18, ext4) the `fstat` made each commit 33 to 62 µs
slower: once a file's times have been read, its next write stamps a new time, so the inode's
block is dirty again and every sync writes it too (ext4 without a journal writes it in
`ext4_fsync_nojournal`). Without the read, writes within one clock tick leave the inode as it
was, and `fdatasync` writes the data alone.

    python3 scripts/bench/wal_sync_after_stat.py [FOLDER] [N] [ROUNDS]   (default: a temporary folder, 3,000, 3)
"""
import os
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time


def series(folder, name, stat_first, count):
    path = os.path.join(folder, name + ".sqlite")
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode = wal")
    db.execute("PRAGMA synchronous = NORMAL")
    db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
    log = None
    times = []
    for _ in range(count):
        start = time.perf_counter()
        db.execute("INSERT INTO t (v) VALUES (?)", ("x" * 200,))
        if log is None:
            log = os.open(path + "-wal", os.O_RDONLY)
        if stat_first:
            os.fstat(log)
        os.fdatasync(log)
        times.append(time.perf_counter() - start)
    os.close(log)
    db.close()
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(path + suffix):
            os.remove(path + suffix)
    return statistics.median(times) * 1e6


def main():
    made = len(sys.argv) <= 1
    folder = tempfile.mkdtemp() if made else sys.argv[1]
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 3000
    rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    print("%d commits a series in %s, kernel %s; median µs a commit" % (count, folder, os.uname().release))
    try:
        for _ in range(rounds):
            plain = series(folder, "plain", False, count)
            stat = series(folder, "stat", True, count)
            print("sync alone %.0f   fstat, then sync %.0f" % (plain, stat))
    finally:
        if made:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
