#!/usr/bin/env python3
"""`agent-memory exec` as a whole process beside LangGraph's SqliteStore, in the same run.

Driven by scripts/bench/exec_vs_peer.sh (which builds the release CLI and installs the peer);
run it directly with a built binary and a Python that has LangGraph:

    python3 scripts/bench/exec_vs_peer.py --binary .build-release/release/agent-memory \\
        --peer-python .build-peer-venv/bin/python

Each round, on a fresh file-backed SQLite store (WAL, synchronous FULL, the CLI's defaults)
in a fresh folder:

1. the store is created by `agent-memory list` (not timed: the peer's `setup()` is not
   timed either);
2. `agent-memory exec` reads one assistant message of N `remember` tool_use blocks (new
   keys, notes of about 100 bytes) from stdin and prints the user message of tool_results:
   timed from spawn to exit;
3. `agent-memory exec` reads one message of N `recall` blocks of the keys just written:
   timed the same way.

Every output is checked: N tool_results, in order, none with is_error. The peer
(scripts/bench/langgraph_peer.py) then runs its batched puts and gets of N operations on a
file in the same folder, and the table shows both and the ratios (rates from the median
round on each side).
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def note(index):
    """The peer's note text (langgraph_peer.note), so both sides store the same bytes."""
    words = ["user", "prefers", "meeting", "project", "deadline", "review", "client", "coffee", "friday", "release"]
    text = " ".join(words[(index * 7 + position * 3) % len(words)] for position in range(14))
    return f"{text} #{index}"


def message(tool, count):
    content = [{"type": "text", "text": "Saving what I learned."}]
    for index in range(count):
        tool_input = {"key": f"note/{index:05d}"}
        if tool == "remember":
            tool_input["value"] = note(index)
        content.append({"type": "tool_use", "id": f"toolu_{tool}_{index:05d}", "name": tool, "input": tool_input})
    return json.dumps({"role": "assistant", "content": content}).encode()


def run_exec(binary, store, payload, count, expect_prefix):
    """Runs one exec process; returns (wall seconds, CPU seconds) from spawn to exit."""
    with tempfile.TemporaryFile() as stdin, tempfile.TemporaryFile() as stdout, tempfile.TemporaryFile() as stderr:
        stdin.write(payload)
        stdin.seek(0)
        start = time.perf_counter()
        process = subprocess.Popen(
            [binary, "exec", "--store", f"sqlite:{store}", "--namespace", "bench"], stdin=stdin, stdout=stdout, stderr=stderr)
        _, status, usage = os.wait4(process.pid, 0)
        elapsed = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(status)
        stdout.seek(0)
        stderr.seek(0)
        output, errors = stdout.read(), stderr.read()
    if process.returncode != 0:
        raise SystemExit(f"agent-memory exec exited {process.returncode}: {errors.decode()[:500]}")
    results = json.loads(output)["content"]
    if len(results) != count:
        raise SystemExit(f"expected {count} tool_results, got {len(results)}")
    for index, result in enumerate(results):
        text = result["content"] if isinstance(result["content"], str) else result["content"][0]["text"]
        if result.get("is_error") or not text.startswith(expect_prefix(index)):
            raise SystemExit(f"tool_result {index} is not what was expected: {text[:200]}")
    return elapsed, usage.ru_utime + usage.ru_stime


def measure_exec(binary, count, rounds, directory):
    remember = message("remember", count)
    recall = message("recall", count)
    writes, reads = [], []
    for _ in range(rounds):
        folder = tempfile.mkdtemp(prefix="exec-bench-", dir=directory)
        try:
            store = os.path.join(folder, "memory.sqlite")
            subprocess.run([binary, "list", "--store", f"sqlite:{store}", "--namespace", "bench"],
                           check=True, stdout=subprocess.DEVNULL)
            writes.append(run_exec(binary, store, remember, count, lambda i: f"Remembered \"note/{i:05d}\""))
            reads.append(run_exec(binary, store, recall, count, lambda i: note(i)))
        finally:
            shutil.rmtree(folder, ignore_errors=True)
    return writes, reads


def measure_peer(python, count, rounds, directory):
    done = subprocess.run(
        [python, os.path.join(HERE, "langgraph_peer.py"), "--json", "--batch", str(count), "--rounds", str(rounds),
         "--single", "50"] + (["--directory", directory] if directory else []),
        check=True, stdout=subprocess.PIPE)
    report = json.loads(done.stdout)
    rows = {row["measure"].split(" (")[0]: row for row in report["results"]}
    # rates from the median batch, like ours from the median process: wall time, CPU time
    def rates(row):
        return count / (row["p50_ms_per_call"] / 1000), count / (row["p50_cpu_ms_per_call"] / 1000)
    return rates(rows["batched puts"]), rates(rows["batched gets"]), report["info"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--binary", required=True, help="the release agent-memory binary")
    parser.add_argument("--peer-python", help="a Python with langgraph and langgraph-checkpoint-sqlite (else no peer)")
    parser.add_argument("--calls", type=int, default=2_000, help="tool_use blocks per message (default 2,000)")
    parser.add_argument("--rounds", type=int, default=5, help="rounds on each side (default 5)")
    parser.add_argument("--directory", help="folder for the throwaway stores (default: the system's temporary folder)")
    args = parser.parse_args()

    started = time.perf_counter()
    writes, reads = measure_exec(args.binary, args.calls, args.rounds, args.directory)
    peer = measure_peer(args.peer_python, args.calls, args.rounds, args.directory) if args.peer_python else None
    # a second pass of ours after the peer, so that a load change during the run shows
    writes2, reads2 = measure_exec(args.binary, args.calls, args.rounds, args.directory)
    writes += writes2
    reads += reads2

    print(f"exec vs peer: {args.calls:,} calls per message, {2 * args.rounds} exec rounds, {args.rounds} peer rounds, "
          f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}, {time.perf_counter() - started:.1f} s")
    if peer:
        info = peer[2]
        print(f"peer: langgraph {info['langgraph']}, checkpoint-sqlite {info['langgraph-checkpoint-sqlite']}, "
              f"SQLite {info['sqlite']['sqlite_version']} ({info['sqlite']['journal_mode']}, "
              f"synchronous {info['sqlite']['synchronous']})")
    print("rates from the median round; wall = spawn to exit (ours) or the batch call (peer); "
          "CPU = user + system time of the same")
    print()
    print("| measure | exec, wall | exec, CPU | ms p50 wall (min–max) | peer batched, wall | peer, CPU | ratio wall | ratio CPU | target |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---|")
    rows = [("remember", writes, peer[0] if peer else None, 1.0), ("recall", reads, peer[1] if peer else None, 0.5)]
    for name, samples, peer_rates, target in rows:
        wall = [sample[0] for sample in samples]
        cpu = [sample[1] for sample in samples]
        rate, cpu_rate = args.calls / statistics.median(wall), args.calls / statistics.median(cpu)
        spread = f"{statistics.median(wall) * 1000:.1f} ({min(wall) * 1000:.1f}–{max(wall) * 1000:.1f})"
        mine = f"{rate:,.0f}/s | {cpu_rate:,.0f}/s | {spread}"
        if peer_rates:
            ratio, cpu_ratio = rate / peer_rates[0], cpu_rate / peer_rates[1]
            verdict = "yes" if ratio >= target else "NO"
            print(f"| {args.calls:,} {name} calls | {mine} | {peer_rates[0]:,.0f}/s | {peer_rates[1]:,.0f}/s | "
                  f"{ratio:.2f}× | {cpu_ratio:.2f}× | ≥ {target}× ({verdict}) |")
        else:
            print(f"| {args.calls:,} {name} calls | {mine} | | | | | ≥ {target}× |")


if __name__ == "__main__":
    sys.exit(main())
