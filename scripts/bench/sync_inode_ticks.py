#!/usr/bin/env python3
"""How often an `fdatasync` of a log also writes the file's inode, and what that costs
(BENCHMARKS.md, round forty-five: where the tails of the durable rows come from).

A write stamps the file's modification time when the kernel's coarse clock has moved since
the last stamp (once a tick: 4 ms at `CONFIG_HZ=250`), and with ext4's `i_version` the inode is
then dirty for `fdatasync` too, which writes its block after the data (ext4 without a journal
writes it in `ext4_fsync_nojournal`; `lazytime` does not change this, because the version
counter moves with the time). Writers that commit many times a tick pay it on one commit a
tick; a writer that pauses longer than a tick between commits pays it on every commit.

Each series overwrites 12 KB inside a file already written and synced (no block allocation,
no size change), then `fdatasync`s it, N times, with a busy pause of GAP µs between commits.
Prints the p50, p90 and mean µs of a commit. With `--trace` (root, `perf` installed) it also
counts the block requests the series' process issued: `WS` data writes, `WSM` metadata writes
(the inode's block).

    python3 scripts/bench/sync_inode_ticks.py [--folder DIR] [--count N] [--gaps 0,100,5000] [--trace]
"""
import argparse
import collections
import os
import subprocess
import sys
import tempfile
import time


def series(path, count, gap):
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    os.pwrite(fd, b"\1" * (64 * 4096), 0)
    os.fsync(fd)
    data = b"\2" * 12288
    times = []
    for index in range(count):
        start = time.perf_counter()
        os.pwrite(fd, data, (index % 16) * 12288)
        os.fdatasync(fd)
        times.append(time.perf_counter() - start)
        until = time.perf_counter() + gap / 1e6
        while time.perf_counter() < until:
            pass
    os.close(fd)
    os.unlink(path)
    times.sort()
    return times[count // 2] * 1e6, times[int(count * 0.9)] * 1e6, sum(times) / count * 1e6


def traced(folder, count, gap):
    """The series in a child process under `perf record` of the block layer; returns the
    child's line and the count of each kind of block request."""
    data = os.path.join(folder, "perf.data")
    child = [sys.executable, __file__, "--folder", folder, "--count", str(count), "--gaps", str(gap), "--child"]
    line = subprocess.run(["perf", "record", "-q", "-e", "block:block_rq_issue", "-a", "-o", data, "--"] + child,
                          check=True, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True).stdout.strip()
    script = subprocess.run(["perf", "script", "-i", data], check=True, stdout=subprocess.PIPE, text=True).stdout
    kinds = collections.Counter()
    for event in script.splitlines():
        fields = event.split()
        if "block:block_rq_issue:" in fields and "python" in fields[0]:
            kinds[fields[fields.index("block:block_rq_issue:") + 2]] += 1
    os.unlink(data)
    return line, kinds


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--folder", help="where the file goes (default: a temporary folder here)")
    parser.add_argument("--count", type=int, default=600)
    parser.add_argument("--gaps", default="0,100,5000", help="pauses between commits, µs, comma-separated")
    parser.add_argument("--trace", action="store_true", help="count block requests with perf (root)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    folder = arguments.folder or tempfile.mkdtemp(prefix="sync-ticks-", dir=".")
    gaps = [int(gap) for gap in arguments.gaps.split(",")]
    for gap in gaps:
        if arguments.trace and not arguments.child:
            line, kinds = traced(folder, arguments.count, gap)
            print(f"{line}; block requests {dict(sorted(kinds.items()))}")
            continue
        p50, p90, mean = series(os.path.join(folder, "sync-ticks.bin"), arguments.count, gap)
        print(f"gap {gap:>5} µs: {arguments.count} commits, p50 {p50:.0f} µs, p90 {p90:.0f} µs, mean {mean:.0f} µs")
    if not arguments.folder:
        os.rmdir(folder)


if __name__ == "__main__":
    main()
