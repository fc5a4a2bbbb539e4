#!/usr/bin/env python3
"""Times two `agent-memory` binaries running the same command line, in alternated pairs.

    python3 scripts/bench/process_pairs.py BEFORE AFTER 40 --store sqlite:/tmp/m.sqlite recall user/lang
    python3 scripts/bench/process_pairs.py --stdin message.json --fresh-store /tmp/pairs BEFORE AFTER 20 exec

Each pair runs both binaries once, in turns (the first of a pair alternates), timing each
process from spawn to exit (this script's options go before BEFORE; everything after N is
the command line); prints both medians and their ratio (AFTER / BEFORE). A process
that exits with a status other than 0 stops the run. With --fresh-store DIR, each run first
empties DIR and creates its store there with `list` (untimed), and the command line gets
`--store sqlite:DIR/m.sqlite`. BENCHMARKS.md, round thirty-nine.
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before")
    parser.add_argument("after")
    parser.add_argument("pairs", type=int)
    parser.add_argument("--stdin", help="a file given to each process on stdin")
    parser.add_argument("--fresh-store", metavar="DIR", help="an empty SQLite store in DIR for each run")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    options = parser.parse_args()
    stdin = open(options.stdin, "rb").read() if options.stdin else None
    times: dict[str, list[float]] = {options.before: [], options.after: []}
    for pair in range(options.pairs):
        order = [options.before, options.after] if pair % 2 == 0 else [options.after, options.before]
        for binary in order:
            command = [binary] + options.command
            if options.fresh_store:
                shutil.rmtree(options.fresh_store, ignore_errors=True)
                os.makedirs(options.fresh_store)
                store = f"sqlite:{options.fresh_store}/m.sqlite"
                subprocess.run([binary, "--store", store, "list"], stdout=subprocess.DEVNULL, check=True)
                command = [binary, "--store", store] + options.command
            start = time.perf_counter()
            result = subprocess.run(command, input=stdin, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            times[binary].append(time.perf_counter() - start)
            if result.returncode != 0:
                sys.exit(f"{command} exited with status {result.returncode}")
    before = statistics.median(times[options.before])
    after = statistics.median(times[options.after])
    print(f"{options.pairs} pairs: before {before * 1000:.2f} ms, after {after * 1000:.2f} ms (medians), after/before {after / before:.3f}")


if __name__ == "__main__":
    main()
