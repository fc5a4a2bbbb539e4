#!/usr/bin/env python3
"""Binaries side by side on PostgreSQL: `agent-memory exec` of one message of 2,000 `remember`
calls of new keys, round after round into one namespace per binary (so every third or so
closing process finds 4,096 or more records without a search document and computes them, as
in `postgres_side_by_side.sh`), or, with --first-search, an `exec` into a new namespace and then
the first `search` process, which computes the 2,000 documents, or, with --updates N, an `exec`
that writes over 2,000 existing keys of a namespace first filled (untimed) by N rounds of new
keys; with --import as well, the timed process is `agent-memory import` of the same 2,000
records as JSON Lines (one `apply` of 2,000 puts: their rows read, then written). Binaries
alternate in random order within a round; each has a database of its own (made empty first).
Spawn-to-exit times.

    python3 scripts/bench/postgres_exec_rounds.py --url postgres://postgres@127.0.0.1:5432 \\
        --rounds 45 before=/path/to/agent-memory@db_before after=.build/release/agent-memory@db_after
"""
import argparse
import json
import os
import random
import re
import statistics
import subprocess
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
CALLS = 2000


def words():
    """The bench's common words (Sources/AgentMemoryBench/BenchData.swift)."""
    source = open(os.path.join(HERE, "..", "..", "Sources", "AgentMemoryBench", "BenchData.swift")).read()
    block = re.search(r'commonWords = """(.*?)"""', source, re.S).group(1)
    return block.replace("\\\n", " ").split()


def message(folder, round_number, vocabulary, keys=None):
    """Round `round_number`'s message: keys note/KEYS/i (KEYS: the round's number unless given),
    notes of 8 to 24 words."""
    keys = round_number if keys is None else keys
    path = os.path.join(folder, f"m{round_number}-{keys}.json")
    if not os.path.exists(path):
        rng = random.Random(round_number)
        blocks = [{"type": "tool_use", "id": f"toolu_{round_number}_{i}", "name": "remember",
                   "input": {"key": f"note/{keys}/{i}",
                             "value": " ".join(rng.choice(vocabulary) for _ in range(rng.randint(8, 24))) + "."}}
                  for i in range(CALLS)]
        with open(path, "w") as file:
            json.dump({"role": "assistant", "content": blocks}, file)
    return path


def records(message_path):
    """The message's `remember` calls as the JSON Lines that `agent-memory import` reads."""
    path = message_path[:-len(".json")] + ".jsonl"
    if not os.path.exists(path):
        with open(message_path) as file, open(path, "w") as lines:
            for block in json.load(file)["content"]:
                lines.write(json.dumps({"key": block["input"]["key"], "value": block["input"]["value"]}) + "\n")
    return path


def timed(arguments, stdin=None):
    started = time.perf_counter()
    done = subprocess.run(arguments, stdin=stdin, capture_output=True)
    elapsed = (time.perf_counter() - started) * 1000
    if done.returncode != 0 or b'"is_error": true' in done.stdout:
        raise SystemExit(f"{' '.join(arguments)} failed: {done.stderr[:300]!r}")
    return elapsed


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True, help="server URL without a database, postgres://USER@HOST:PORT")
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--first-search", action="store_true")
    parser.add_argument("--updates", type=int, default=0, metavar="N",
                        help="fill the namespace with N rounds of new keys first; each round then writes over one's keys")
    parser.add_argument("--import", dest="imports", action="store_true",
                        help="with --updates: time `agent-memory import` of the round's records instead of `exec`")
    parser.add_argument("runs", nargs="+", help="NAME=BINARY@DATABASE")
    options = parser.parse_args()
    if options.imports and not options.updates:
        parser.error("--import writes over existing keys: give --updates N as well")
    runs = [(name, *spec.split("@")) for name, spec in (run.split("=", 1) for run in options.runs)]
    for _, _, database in runs:
        for statement in (f"DROP DATABASE IF EXISTS {database}", f"CREATE DATABASE {database}"):
            subprocess.run(["psql", f"{options.url}/postgres", "-X", "-q", "-c", statement], check=True, capture_output=True)
    vocabulary = words()
    folder = tempfile.mkdtemp(prefix="agent-memory-exec-rounds-")
    times = {name: [] for name, _, _ in runs}
    for fill in range(options.updates):
        for name, binary, database in runs:
            with open(message(folder, fill, vocabulary)) as stdin:
                timed([binary, "exec", "--store", f"{options.url}/{database}", "--namespace", "rounds"], stdin)
    for round_number in range(options.rounds):
        order = runs[:]
        random.shuffle(order)
        for name, binary, database in order:
            url = f"{options.url}/{database}"
            namespace = f"first{round_number}" if options.first_search else "rounds"
            keys = round_number % options.updates if options.updates else None
            path = message(folder, round_number + options.updates, vocabulary, keys)
            if options.imports:
                elapsed = timed([binary, "import", "--store", url, "--namespace", namespace, records(path)])
            else:
                with open(path) as stdin:
                    elapsed = timed([binary, "exec", "--store", url, "--namespace", namespace], stdin)
            if options.first_search:
                elapsed = timed([binary, "search", "--store", url, "--namespace", namespace, "budget meeting"])
            times[name].append(elapsed)
    what = ("the first search after an exec" if options.first_search
            else f"import of 2,000 records over existing keys, {options.updates * 2000:,} records" if options.imports
            else f"exec of 2,000 remember calls over existing keys, {options.updates * 2000:,} records" if options.updates
            else "exec of 2,000 remember calls, new keys")
    print(f"{what}, {options.rounds} rounds, ms (median, mean):")
    for name, values in times.items():
        print(f"{name}: {statistics.median(values):.2f}  {statistics.mean(values):.2f}   " + " ".join(f"{v:.0f}" for v in values))


if __name__ == "__main__":
    main()
