// CSQLiteSettings: SQLite's process-wide settings, which Swift cannot set itself
// (`sqlite3_config` is variadic, and Swift does not import variadic C functions).

#ifndef CSQLITESETTINGS_H
#define CSQLITESETTINGS_H

/// Sets SQLite's threading mode to multi-thread (a connection has no mutex of its own, so it
/// must not be used by two threads at once; GRDB never does) and turns off its memory
/// statistics (`sqlite3_memory_used` and the soft heap limit then count nothing), for every
/// connection the process opens afterwards without a threading flag of its own.
///
/// Must run before SQLite is first used in the process (`sqlite3_config`'s rule): returns 1
/// when both settings took effect, 0 when SQLite was already initialized and nothing changed.
/// Not thread-safe: no other thread may call SQLite meanwhile.
int csqlitesettings_use_multithread(void);

/// Whether a connection opened now, without a threading flag, has no mutex of its own
/// (multi-thread or single-thread mode): 1 yes, 0 no (serialized), -1 when no connection to
/// `:memory:` could be opened.
int csqlitesettings_connections_are_multithread(void);

#endif
