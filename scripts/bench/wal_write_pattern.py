#!/usr/bin/env python3
"""The cost of an fdatasync after a commit's write-ahead-log frames, written as SQLite writes
them (two writes a frame: its 24-byte header, then its 4,096-byte page) and as one write of
the same bytes (what the store's VFS, Sources/CSQLiteWALWrites, does at synchronous FULL).

    python3 scripts/bench/wal_write_pattern.py [--folder DIR] [--commits N]

Writes into a 4 MiB file made beforehand in DIR (default: a temporary folder under /tmp),
overwriting it from the start as a write-ahead log is after a checkpoint, and prints the
latency of write + fdatasync per commit in microseconds, for 2 to 16 frames a commit.
"""
import argparse
import os
import tempfile
import time

FRAME = 24 + 4096
SIZE = 4 * 1024 * 1024


def commits(fd, frames, pattern, count):
    header, page = b"h" * 24, b"p" * 4096
    joined = (header + page) * frames
    offset, latencies = 32, []
    for _ in range(count):
        if offset + frames * FRAME > SIZE:
            offset = 32
        start = time.perf_counter()
        if pattern == "sqlite":
            for _ in range(frames):
                os.pwrite(fd, header, offset)
                os.pwrite(fd, page, offset + 24)
                offset += FRAME
        else:
            os.pwrite(fd, joined, offset)
            offset += len(joined)
        os.fdatasync(fd)
        latencies.append((time.perf_counter() - start) * 1e6)
    latencies.sort()
    n = len(latencies)
    return latencies[n // 2], latencies[int(n * 0.9)], latencies[int(n * 0.99)], sum(latencies) / n


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--folder", default=None)
    parser.add_argument("--commits", type=int, default=800)
    args = parser.parse_args()
    folder = args.folder or tempfile.mkdtemp(prefix="wal-write-pattern-")
    path = os.path.join(folder, "log")
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, b"\0" * SIZE)
        os.fsync(fd)
        print("| frames | writes | p50 µs | p90 µs | p99 µs | mean µs |")
        print("|---:|---|---:|---:|---:|---:|")
        for frames in (2, 3, 4, 6, 10, 16):
            for pattern in ("sqlite", "one"):
                p50, p90, p99, mean = commits(fd, frames, pattern, args.commits)
                writes = f"{2 * frames} (SQLite's)" if pattern == "sqlite" else "1 (gathered)"
                print(f"| {frames} | {writes} | {p50:.0f} | {p90:.0f} | {p99:.0f} | {mean:.0f} |")
    finally:
        os.close(fd)
        os.remove(path)
        if args.folder is None:
            os.rmdir(folder)


if __name__ == "__main__":
    main()
