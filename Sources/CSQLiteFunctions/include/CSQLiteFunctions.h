// CSQLiteFunctions: scalar SQL functions of the store's own, in C, where a function runs once
// per row of a statement over many rows and Swift's per-call overhead would show.

#ifndef CSQLITEFUNCTIONS_H
#define CSQLITEFUNCTIONS_H

typedef struct sqlite3 sqlite3;

/// Registers `agent_memory_body(value)` on `db`: the text the `memory_records.body` column
/// computes for `value` (`CASE WHEN json_type(value) = 'text' THEN json_extract(value, '$')
/// ELSE value END`) when that is cheap to know exactly, else NULL, so that
/// `COALESCE(agent_memory_body(value), body)` equals `body` for every value.
///
/// Cheap means a JSON string with nothing to unescape: the value's text starts and ends with
/// `"`, and no byte between is `"`, `\` or a control character (below 0x20). Such a value is a
/// valid JSON string whose decoded text is exactly the bytes between the quotes, which is what
/// `json_extract` returns. Anything else (escapes, numbers, objects, arrays, literals, a value
/// that is not text) gives NULL, and the caller's `COALESCE` falls back to SQLite's JSON
/// functions. Returns SQLite's result code.
int csqlitefunctions_register_body(sqlite3 *db);

#endif
