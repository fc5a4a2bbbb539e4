#!/usr/bin/env python3
"""Checks `agent-memory mcp` with the official Python MCP client (`pip install mcp`).

Starts `AGENT_MEMORY mcp --store memory: --namespace check --tools all` over stdio, lets the
client negotiate the protocol version (its default mode probes `server/discover` at the newest
version and falls back to the `initialize` handshake), lists the tools, calls each one, lists
the resources page by page and reads each, gets the prompt, and prints a summary. Exits 1 on
the first result that differs from what the server promises.

Usage: check_stdio.py PATH/TO/agent-memory
"""

import asyncio
import sys

from mcp import Client, StdioServerParameters

EXPECTED_TOOLS = ["remember", "recall", "list_memory", "forget", "search_memory"]
KEYS = ["notes/2026 plan", "100% sure", "café"]


def check(condition, what):
    if not condition:
        print(f"FAILED: {what}", file=sys.stderr)
        sys.exit(1)


def text_of(result):
    check(len(result.content) == 1 and result.content[0].type == "text", f"one text block, got {result.content}")
    return result.content[0].text


async def main(binary):
    server = StdioServerParameters(command=binary, args=["mcp", "--store", "memory:", "--namespace", "check", "--tools", "all"])
    summary = []
    async with Client(server) as client:
        summary.append(f"protocol {client.protocol_version} with {client.server_info.name} {client.server_info.version}")

        tools = (await client.list_tools()).tools
        check([tool.name for tool in tools] == EXPECTED_TOOLS, f"tool names {[tool.name for tool in tools]}")
        hints = {tool.name: tool.annotations for tool in tools}
        check(hints["recall"].read_only_hint is True and hints["forget"].destructive_hint is True, "annotations")
        summary.append(f"{len(tools)} tools: {', '.join(tool.name for tool in tools)}")

        for key in KEYS:
            result = await client.call_tool("remember", {"key": key, "value": f"value of {key}"})
            check(not result.is_error and text_of(result) == f'Remembered "{key}" (version 1).', f"remember {key}")
        result = await client.call_tool("recall", {"key": "café"})
        check(not result.is_error and text_of(result) == "value of café", "recall")
        result = await client.call_tool("list_memory", {})
        check(not result.is_error and text_of(result).count("\n") == len(KEYS) - 1, "list_memory")
        result = await client.call_tool("search_memory", {"query": "sure"})
        check(not result.is_error and text_of(result).startswith("100% sure: "), "search_memory")
        result = await client.call_tool("remember", {"key": "missing value"})
        check(result.is_error and text_of(result).startswith("Invalid input for remember"), "a bad call is an isError result")
        summary.append("called remember, recall, list_memory, search_memory; a bad call gave isError")

        resources, cursor, pages = [], None, 0
        while True:
            page = await client.list_resources(cursor=cursor)
            resources += page.resources
            pages += 1
            cursor = page.next_cursor
            if cursor is None:
                break
        check(sorted(r.name for r in resources) == sorted(KEYS), f"resources {[r.name for r in resources]}")
        for resource in resources:
            contents = (await client.read_resource(str(resource.uri))).contents
            check(len(contents) == 1 and contents[0].text == f"value of {resource.name}", f"read {resource.uri}")
        summary.append(f"{len(resources)} resources in {pages} page(s), each read back exactly")

        prompt = await client.get_prompt("use_memory")
        check(prompt.messages[0].content.text.startswith("You have persistent memory"), "prompt")
        summary.append("prompt use_memory")

        result = await client.call_tool("forget", {"key": "café"})
        check(not result.is_error and text_of(result) == 'Forgot "café".', "forget")
        summary.append("forget")
    print("agent-memory mcp with the Python MCP client: OK")
    for line in summary:
        print("  " + line)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    asyncio.run(main(sys.argv[1]))
