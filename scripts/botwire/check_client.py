#!/usr/bin/env python3
"""Drive the real `botwire` client (PyPI) against a running `agent-memory serve`.

Usage: BOTWIRE_URL=http://127.0.0.1:PORT python3 scripts/botwire/check_client.py [NAMESPACE]

The client reads BOTWIRE_URL when it is imported, so the variable must be set before this
script starts. It sends no Authorization header, so the server must run without --tokens (on
a loopback address). Prints one line per check and exits non-zero on the first failure.

- `Memory`: set/get/keys/delete/`in`, with keys holding '/', '+', '%', ':', '~', ';', spaces
  and non-ASCII text, and JSON values (the client stores them as JSON text).
- `BotWireChatHistory` needs langchain-core (`pip install langchain-core`); skipped, saying so,
  when it is not installed.
- `memory_tools` imports `tool` from crewai-tools (`pip install crewai-tools`, which brings
  CrewAI). Without it, a stand-in `crewai_tools.tool` decorator that returns the function
  unchanged is used, so the three tools' own code still runs against the server.
"""
import os
import sys
import types

if not os.environ.get("BOTWIRE_URL"):
    sys.exit("set BOTWIRE_URL to the server, e.g. http://127.0.0.1:8080")

import botwire  # noqa: E402
from botwire import Memory  # noqa: E402


def check(label, actual, expected):
    if actual != expected:
        sys.exit(f"FAIL {label}: got {actual!r}, expected {expected!r}")
    print(f"ok   {label}")


namespace = sys.argv[1] if len(sys.argv) > 1 else "botwire-check"
print(f"botwire {botwire.__version__} against {os.environ['BOTWIRE_URL']}, namespace {namespace}")
mem = Memory(namespace)

# Memory: store, read, list, delete.
keys = {
    "user_name": "Pedro",
    "notes/2024/today": "slashes",
    "a+b": "plus",
    "100%": "percent",
    "x:y~z;w": "punctuation",
    "with space": "space",
    "café 日本": "non-ASCII",
}
for key, value in keys.items():
    mem.set(key, value)
for key, value in keys.items():
    check(f"get {key!r}", mem.get(key), value)
check("keys", sorted(mem.keys()), sorted(keys))
mem.set("prefs", {"theme": "dark", "langs": ["swift", "python"]})
check("JSON value", mem.get("prefs"), {"theme": "dark", "langs": ["swift", "python"]})
check("missing with default", mem.get("nope", default="fallback"), "fallback")
check("contains", "user_name" in mem, True)
check("delete", mem.delete("user_name"), True)
check("delete missing", mem.delete("user_name"), False)
check("gone", mem.get("user_name"), None)
for key in list(keys) + ["prefs"]:
    mem.delete(key)
check("empty", mem.keys(), [])

# LangChain chat history.
try:
    from botwire.memory import BotWireChatHistory
    from langchain_core.messages import AIMessage, HumanMessage
except ImportError:
    print("skip BotWireChatHistory: langchain-core is not installed (pip install langchain-core)")
else:
    history = BotWireChatHistory(session_id="user-42", namespace=namespace)
    history.clear()
    history.add_message(HumanMessage(content="Remember that I like tea."))
    history.add_message(AIMessage(content="Noted: you like tea."))
    again = BotWireChatHistory(session_id="user-42", namespace=namespace)
    check("chat history", [(m.type, m.content) for m in again.messages],
          [("human", "Remember that I like tea."), ("ai", "Noted: you like tea.")])
    again.clear()
    check("chat history cleared", again.messages, [])

# CrewAI tools.
try:
    import crewai_tools  # noqa: F401
    stand_in = False
except ImportError:
    stand_in = True
    module = types.ModuleType("crewai_tools")
    module.tool = lambda name: (lambda function: function)
    sys.modules["crewai_tools"] = module
from botwire.memory import memory_tools  # noqa: E402

remember, recall, list_memory = memory_tools(namespace)
if stand_in:
    print("note memory_tools: crewai-tools is not installed; its tool decorator is stood in by identity")
    check("tool remember", remember("color", "blue"), "stored 'color'")
    check("tool recall", recall("color"), "blue")
    check("tool recall missing", recall("size"), "not found")
    check("tool list_memory", list_memory(), "color")
else:
    check("tool remember", remember.run(key="color", value="blue"), "stored 'color'")
    check("tool recall", recall.run(key="color"), "blue")
    check("tool list_memory", list_memory.run(), "color")
mem.delete("color")
check("tool list_memory empty", ", ".join(mem.keys()) or "(empty)", "(empty)")
print("all botwire checks passed")
