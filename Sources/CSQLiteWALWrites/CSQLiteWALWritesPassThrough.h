// The part of the VFS in CSQLiteWALWrites.c that passes every call to the VFS it wraps (not a
// public header: it is outside `include/`).
#ifndef CSQLITEWALWRITESPASSTHROUGH_H
#define CSQLITEWALWRITESPASSTHROUGH_H

#include <sqlite3.h>

/// Sets every method of `vfs` but `xOpen` to one that calls `wrapped`'s (once, before `vfs` is
/// registered).
void csqlitewal_pass_through(sqlite3_vfs *vfs, sqlite3_vfs *wrapped);

#endif
