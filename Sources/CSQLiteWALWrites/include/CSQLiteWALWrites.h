// One write to the operating system per commit for a write-ahead log: a SQLite VFS that wraps
// the process's default VFS and, for the write-ahead logs of the connections it is turned on
// for, gathers the frames of a commit in memory and hands them to the file in one write just
// before the commit's sync (or, where commits do not sync, as the commit frame is complete).
// Everything else passes through unchanged. See CSQLiteWALWrites.c.
#ifndef CSQLITEWALWRITES_H
#define CSQLITEWALWRITES_H

#include <sqlite3.h>

/// The VFS's name.
#define CSQLITEWAL_VFS_NAME "agent-memory-wal"

/// Registers the VFS as the process's default, wrapping the default of the moment; later calls
/// do nothing. Returns 1 when the VFS is registered (now or before), 0 when it could not be.
int csqlitewal_register(void);

/// Gathers the writes of `db`'s main write-ahead log from now on, when the log is open (SQLite
/// opens it at the connection's first read) and was opened through this VFS: until the
/// commit's sync at `synchronous` FULL or EXTRA; strictly, until each commit frame is complete,
/// at NORMAL (whose commits are indexed without a sync); not at all at OFF. The connection's
/// `synchronous` must not change afterwards. Returns 1 when gathering is on, 0 otherwise
/// (nothing changed).
int csqlitewal_enable(sqlite3 *db);

/// Gathers the writes of `file`, a write-ahead log opened through this VFS, from now on, until
/// a sync, read or other call needs them (a log synced at every commit); for tests of the
/// gathering itself. Returns 1 when `file` is such a log, 0 otherwise.
int csqlitewal_enable_file(sqlite3_file *file);

/// The same, strictly (a log whose commits are indexed without a sync): only appended frames
/// are gathered, and each commit frame's page writes them. Returns 1 when `file` is such a log
/// (and its size could be read), 0 otherwise.
int csqlitewal_enable_file_unsynced(sqlite3_file *file);

/// The writes `db`'s main write-ahead log handed to the operating system and the writes it
/// gathered instead, since it was opened. Returns 1 when the log is one of this VFS's, 0
/// otherwise (the counts are then left as they were).
int csqlitewal_counts(sqlite3 *db, sqlite3_int64 *written, sqlite3_int64 *gathered);

/// The same counts for `file`, a write-ahead log opened through this VFS.
int csqlitewal_file_counts(sqlite3_file *file, sqlite3_int64 *written, sqlite3_int64 *gathered);

#endif
