#!/usr/bin/env python3
"""Checks MCP over Streamable HTTP (`agent-memory serve`, path /mcp) with the official Python
MCP client (`pip install mcp`).

Connects to URL (e.g. http://127.0.0.1:8080/mcp?namespace=check) with `Authorization: Bearer
TOKEN` when a token is given, lets the client negotiate the protocol version (its default mode
probes `server/discover` at the newest version and falls back to the `initialize` handshake),
lists the tools, calls each one, lists the resources page by page and reads each, gets the
prompt, and ends the session (the client sends DELETE). The server must offer all five tools
(`--mcp-tools all`) on an empty namespace. Prints a summary; exits 1 on the first result that
differs from what the server promises.

Usage: check_http.py URL [TOKEN]
"""

import asyncio
import sys

import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

EXPECTED_TOOLS = ["remember", "recall", "list_memory", "forget", "search_memory"]
KEYS = ["notes/2026 plan", "100% sure", "café"]


def check(condition, what):
    if not condition:
        print(f"FAILED: {what}", file=sys.stderr)
        sys.exit(1)


def text_of(result):
    check(len(result.content) == 1 and result.content[0].type == "text", f"one text block, got {result.content}")
    return result.content[0].text


async def main(url, token):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    # The MCP client's own defaults: 30 s to connect and write, 300 s to read an event stream.
    http = httpx2.AsyncClient(headers=headers, timeout=httpx2.Timeout(30, read=300))
    summary = []
    async with http, Client(streamable_http_client(url, http_client=http)) as client:
        summary.append(f"protocol {client.protocol_version} with {client.server_info.name} {client.server_info.version}")

        tools = (await client.list_tools()).tools
        check([tool.name for tool in tools] == EXPECTED_TOOLS, f"tool names {[tool.name for tool in tools]}")
        hints = {tool.name: tool.annotations for tool in tools}
        check(hints["recall"].read_only_hint is True and hints["forget"].destructive_hint is True, "annotations")
        summary.append(f"{len(tools)} tools: {', '.join(tool.name for tool in tools)}")

        for key in KEYS:
            result = await client.call_tool("remember", {"key": key, "value": f"value of {key}"})
            check(not result.is_error and text_of(result) == f'Remembered "{key}" (version 1).', f"remember {key}: {result}")
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
    print("agent-memory MCP over HTTP with the Python MCP client: OK")
    for line in summary:
        print("  " + line)


if __name__ == "__main__":
    if len(sys.argv) not in (2, 3):
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    asyncio.run(main(sys.argv[1], sys.argv[2] if len(sys.argv) == 3 else None))
