#!/usr/bin/env python3
"""The comparison server for BENCHMARKS.md: BotWire's memory routes on FastAPI + SQLite.

The stack BotWire's own service runs, doing what `agent-memory serve` does for the same
routes: one SQLite file in WAL mode with synchronous=FULL (as the Swift store), a row per
(namespace, key), created/updated times. Run: python3 fastapi_sqlite_server.py PATH PORT
(needs `pip install fastapi uvicorn`).
"""
import sqlite3
import sys
import threading
import time

import uvicorn
from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse

path, port = sys.argv[1], int(sys.argv[2])
local = threading.local()


def db():
    if not hasattr(local, "conn"):
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=10)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute(
            "CREATE TABLE IF NOT EXISTS memory (namespace TEXT, key TEXT, value TEXT, created_at REAL, updated_at REAL,"
            " PRIMARY KEY (namespace, key))")
        local.conn = conn
    return local.conn


app = FastAPI()


@app.put("/memory/{namespace}/{key:path}")
async def put(namespace: str, key: str, request: Request):
    body = await request.json()
    value = body.get("value") if isinstance(body, dict) else None
    if not isinstance(value, str):
        raise HTTPException(status_code=422, detail="value must be a string")
    now = time.time()
    db().execute(
        "INSERT INTO memory VALUES (?, ?, ?, ?, ?) ON CONFLICT (namespace, key) DO UPDATE SET value = excluded.value,"
        " updated_at = excluded.updated_at", (namespace, key, value, now, now))
    return {"namespace": namespace, "key": key, "stored": True, "bytes": len(value.encode())}


@app.get("/memory/{namespace}/{key:path}")
def get(namespace: str, key: str):
    row = db().execute(
        "SELECT value, created_at, updated_at FROM memory WHERE namespace = ? AND key = ?", (namespace, key)).fetchone()
    if row is None:
        return JSONResponse(status_code=404, content={"detail": f"Key not found: {namespace}/{key}"})
    return {"namespace": namespace, "key": key, "value": row[0], "created_at": row[1], "updated_at": row[2]}


if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")
