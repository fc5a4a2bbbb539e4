#!/usr/bin/env python3
"""Process start to exit of several `agent-memory` builds, interleaved, in the same minutes.

    python3 scripts/bench/start_times.py --binary before=/tmp/am-old --binary after=/tmp/am-new

Each iteration runs every binary once, in alternating order (so a machine that drifts from one
minute to the next weighs on all of them alike), for three commands: `--version`, `recall` of
one key, and `exec` of one message of 2,000 `recall` blocks (exec_vs_peer.py's message), both
on one file-backed SQLite store that the first binary fills first (not timed). Prints the median
and mean wall time of each, in ms; every run's exit status and output are checked.

Copy the binaries out of their build folders the same way before comparing them (BENCHMARKS.md,
round twenty-three): a file the linker wrote in place started about 0.9 ms slower than a `cp`
of it, which the page cache holds in larger pages.
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from exec_vs_peer import message, note  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--binary", action="append", required=True, metavar="NAME=PATH",
                        help="a build to time (give two or more)")
    parser.add_argument("--iterations", type=int, default=150, help="runs of each command per binary (default 150)")
    parser.add_argument("--directory", help="folder for the throwaway store (default: the system's temporary folder)")
    arguments = parser.parse_args()
    binaries = []
    for item in arguments.binary:
        name, separator, path = item.partition("=")
        if not separator or not name or not os.access(path, os.X_OK):
            parser.error(f"--binary takes NAME=PATH of an executable, got {item!r}")
        binaries.append((name, path))

    folder = tempfile.mkdtemp(prefix="start-times-", dir=arguments.directory)
    try:
        store = f"sqlite:{os.path.join(folder, 'memory.sqlite')}"
        common = ["--store", store, "--namespace", "bench"]
        subprocess.run([binaries[0][1], "exec", *common], input=message("remember", 2_000),
                       check=True, stdout=subprocess.DEVNULL)
        recall_message = message("recall", 2_000)
        commands = {
            "--version": (["--version"], None, lambda out: out.strip() != b""),
            "recall of one key": (["recall", *common, "note/00001"], None, lambda out: out.decode().strip() == note(1)),
            "exec, 2,000 recall calls": (["exec", *common], recall_message,
                                         lambda out: out.count(b'"tool_result"') == 2_000 and b'"is_error":true' not in out),
        }
        print(f"{arguments.iterations} interleaved runs of each; wall time spawn to exit, ms (p50 / mean)")
        print("| command | " + " | ".join(name for name, _ in binaries) + " |")
        print("|---|" + "---:|" * len(binaries))
        for label, (command, stdin, valid) in commands.items():
            times = {name: [] for name, _ in binaries}
            for iteration in range(arguments.iterations):
                order = binaries if iteration % 2 == 0 else list(reversed(binaries))
                for name, path in order:
                    start = time.perf_counter()
                    result = subprocess.run([path, *command], input=stdin, capture_output=True)
                    times[name].append((time.perf_counter() - start) * 1000)
                    if result.returncode != 0 or not valid(result.stdout):
                        raise SystemExit(f"{name}: `{label}` exited {result.returncode}: {result.stderr.decode()[:300]}")
            cells = [f"{statistics.median(times[name]):.2f} / {statistics.fmean(times[name]):.2f}" for name, _ in binaries]
            print(f"| {label} | " + " | ".join(cells) + " |")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
