#!/usr/bin/env python3
"""Tool calls over MCP's stdio transport, one at a time, as an MCP host makes them.

    python3 scripts/bench/mcp_stdio_calls.py BINARY sqlite:/tmp/m.sqlite 2000

Starts `BINARY --store STORE mcp` through the official Python client (`pip install mcp`),
alternates `remember` of a new key and `recall` of it, and prints the median and mean time of
a call, client to client (BENCHMARKS.md, round forty-six). Every result is checked.
"""
import asyncio, sys, time, statistics
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client

async def main(binary, store, n):
    params = StdioServerParameters(command=binary, args=["--store", store, "mcp"])
    async with stdio_client(params) as (read, write):
        async with ClientSession(read, write) as session:
            await session.initialize()
            times = []
            for i in range(n):
                t = time.perf_counter()
                if i % 2 == 0:
                    r = await session.call_tool("remember", {"key": f"k/{i}", "value": f"value {i} coffee"})
                else:
                    r = await session.call_tool("recall", {"key": f"k/{i-1}"})
                times.append(time.perf_counter() - t)
                assert not r.is_error, r
                if i % 2 == 1:
                    assert r.content[0].text == f"value {i-1} coffee", r
            times.sort()
            print(f"{n} calls: p50 {times[n//2]*1e6:.0f} us, mean {statistics.mean(times)*1e6:.0f} us")

asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3])))
