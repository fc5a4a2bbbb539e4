// A VFS that gives a commit's write-ahead-log frames to the file in one write.
//
// Why: SQLite writes each frame of a commit with two calls (its 24-byte header, then the
// page) and then syncs the log. On this project's machines an `fdatasync` after many small
// writes costs several times one after a single write of the same bytes (BENCHMARKS.md, round
// forty-four, scripts/bench/wal_write_pattern.py: four frames as SQLite writes them, then
// `fdatasync`, 541 µs at the median; the same bytes in one write, 59 µs). Gathering the
// frames removes that cost from every durable commit.
//
// How (SQLite's documentation: "The OS Interface Object", sqlite3_vfs and sqlite3_io_methods;
// the order below is SQLite's `walFrames` in wal.c): a commit writes its frames, then, at
// `synchronous` FULL or EXTRA, syncs the log, and only then adds the frames to the log's index
// in shared memory, where other connections and processes learn of them. So frames held in
// memory until the sync are never needed by anyone else: the sync writes them first. The same
// connection may read the log back within a transaction (rewriting checksums, recovery): every
// read, size query, truncation, file control and close writes the gathered frames first.
// Nothing is acknowledged before the sync returns, as without the VFS: a crash before it loses
// only frames that were never committed.
//
// At `synchronous` NORMAL a commit adds its frames to the index without a sync, right after
// writing them, with no call on the log in between. There the log is gathered strictly
// (`unsynced`): only SQLite's own pattern of appended frames joins the gathered bytes (the
// log's 32-byte header at offset 0, then each frame's 24-byte header followed by its page, each
// write right after the one before), and the write of a commit frame's page (a frame whose
// header carries the database size, which only a commit frame does: "The WAL File Format" in
// SQLite's documentation) writes them at once, so the write that completes a commit returns
// only once all its frames are in the file, before SQLite indexes them. Any other write (a
// page written again in place, the frame headers `walRewriteChecksums` rewrites after the
// commit frame, a pattern this code does not know) first writes what was gathered, then goes to
// the file itself. A crash of the process after a commit returns loses nothing the file
// system had, as without the VFS. `csqlitewal_enable` picks the way from the connection's
// `synchronous` (below NORMAL, nothing is gathered); the store turns it on for its writer
// connection, whose setting never changes afterwards. Files other than write-ahead logs are
// opened by the wrapped VFS itself, with its own methods.
#include "CSQLiteWALWrites.h"
#include "CSQLiteWALWritesPassThrough.h"

#include <pthread.h>
#include <stddef.h>
#include <string.h>

/// The most bytes gathered before they are written anyway (a large transaction's frames go to
/// the file in pieces of this size, as SQLite writes them when its page cache spills).
#define GATHER_LIMIT ((sqlite3_int64)16 * 1024 * 1024)
/// The most bytes handed to the wrapped file in one write: SQLite's unix VFS writes at most
/// 128 KiB less one byte a call (`seekAndWrite` in os_unix.c masks the length with 0x1ffff).
#define WRITE_LIMIT ((sqlite3_int64)31 * 4096)
/// A buffer larger than this is freed after its bytes are written.
#define KEEP_LIMIT ((sqlite3_int64)1024 * 1024)

typedef struct GatheringFile {
    sqlite3_file base;      // pMethods: gatheringMethods
    sqlite3_file *wrapped;  // the wrapped VFS's file, in the same allocation, after this struct
    int enabled;
    int unsynced;           // gathering for a log whose commits are indexed without a sync
    int expectsPage;        // unsynced: the last write gathered was a frame header
    int commitHeader;       // unsynced: ... and that header was a commit frame's
    sqlite3_int64 logEnd;   // unsynced: the end of the bytes this file has written since its
                            // log last started again from its header
    unsigned char *buffer;
    sqlite3_int64 start;    // the file offset of buffer[0]
    sqlite3_int64 length;   // bytes gathered
    sqlite3_int64 capacity;
    sqlite3_int64 written;  // writes handed to the wrapped file
    sqlite3_int64 gathered; // writes kept in the buffer instead
} GatheringFile;

#define WRAPPED_OFFSET ((sizeof(GatheringFile) + 15) & ~(size_t)15)

static sqlite3_vfs gatheringVFS;
static sqlite3_vfs *wrappedVFS;
static const sqlite3_io_methods gatheringMethods;

static int writeThrough(GatheringFile *file, const void *data, int amount, sqlite3_int64 offset) {
    file->written++;
    return file->wrapped->pMethods->xWrite(file->wrapped, data, amount, offset);
}

/// Writes the gathered bytes (if any) in one write, or in pieces of `WRITE_LIMIT` bytes when
/// there are more; the buffer is empty afterwards, whether the writes succeeded or not (SQLite
/// fails the transaction on the error and writes its frames again).
static int writeGathered(GatheringFile *file) {
    int rc = SQLITE_OK;
    for (sqlite3_int64 done = 0; done < file->length && rc == SQLITE_OK; done += WRITE_LIMIT) {
        sqlite3_int64 piece = file->length - done < WRITE_LIMIT ? file->length - done : WRITE_LIMIT;
        rc = writeThrough(file, file->buffer + done, (int)piece, file->start + done);
    }
    file->length = 0;
    // Nothing gathered: no frame is half gathered either (an unsynced log's state).
    file->expectsPage = 0;
    file->commitHeader = 0;
    if (file->capacity > KEEP_LIMIT) {
        sqlite3_free(file->buffer);
        file->buffer = NULL;
        file->capacity = 0;
    }
    return rc;
}

/// Writes what was gathered, then `data` itself.
static int writeGatheredThen(GatheringFile *file, const void *data, int amount, sqlite3_int64 offset) {
    int rc = writeGathered(file);
    if (rc != SQLITE_OK) return rc;
    return writeThrough(file, data, amount, offset);
}

static int gatherClose(sqlite3_file *pFile) {
    GatheringFile *file = (GatheringFile *)pFile;
    int rc = writeGathered(file);
    int closed = file->wrapped->pMethods->xClose(file->wrapped);
    sqlite3_free(file->buffer);
    file->buffer = NULL;
    file->capacity = 0;
    return rc != SQLITE_OK ? rc : closed;
}

static int gatherRead(sqlite3_file *pFile, void *data, int amount, sqlite3_int64 offset) {
    GatheringFile *file = (GatheringFile *)pFile;
    int rc = writeGathered(file);
    if (rc != SQLITE_OK) return rc;
    return file->wrapped->pMethods->xRead(file->wrapped, data, amount, offset);
}

static int gatherBytes(GatheringFile *file, const void *data, int amount, sqlite3_int64 offset);

/// Sizes of SQLite's write-ahead-log header and of a frame's header ("The WAL File Format").
#define LOG_HEADER 32
#define FRAME_HEADER 24

/// A write to a log whose commits are indexed without a sync (see the top of this file).
static int unsyncedWrite(GatheringFile *file, const void *data, int amount, sqlite3_int64 offset) {
    if (amount == LOG_HEADER && offset == 0) file->logEnd = 0;  // the log starts again
    sqlite3_int64 end = offset + amount;
    int follows = file->length > 0 && offset == file->start + file->length;
    int starts = file->length == 0 && offset >= file->logEnd;
    if (end > file->logEnd) file->logEnd = end;
    int joins;
    if (amount == LOG_HEADER && offset == 0) {
        joins = file->length == 0;
    } else if (amount == FRAME_HEADER) {
        joins = (follows && !file->expectsPage) || starts;
    } else {
        joins = follows && file->expectsPage && amount > FRAME_HEADER;
    }
    if (!joins) return writeGatheredThen(file, data, amount, offset);
    int rc = gatherBytes(file, data, amount, offset);
    // Failed, or past the limits: what was gathered and `data` went to the file.
    if (rc != SQLITE_OK || file->length == 0) return rc;
    if (amount == FRAME_HEADER) {
        const unsigned char *bytes = data;
        file->expectsPage = 1;
        // Bytes 4 to 7: the database's size in pages after a commit, 0 in any other frame.
        file->commitHeader = (bytes[4] | bytes[5] | bytes[6] | bytes[7]) != 0;
        return SQLITE_OK;
    }
    file->expectsPage = 0;
    // The commit frame is complete: its frames go to the file before SQLite indexes them. (The
    // log's header joins only an empty buffer, so no commit header is pending then.)
    return file->commitHeader ? writeGathered(file) : SQLITE_OK;
}

/// Gathers `data` (or, past the limits, writes what was gathered and then `data` itself).
static int gatherBytes(GatheringFile *file, const void *data, int amount, sqlite3_int64 offset) {
    // Only a write that starts within the gathered bytes or right after them joins them.
    if (file->length > 0 && (offset < file->start || offset > file->start + file->length)) {
        int rc = writeGathered(file);
        if (rc != SQLITE_OK) return rc;
    }
    if (file->length == 0) file->start = offset;
    sqlite3_int64 at = offset - file->start;
    sqlite3_int64 end = at + amount;
    if (end > GATHER_LIMIT || amount > WRITE_LIMIT) return writeGatheredThen(file, data, amount, offset);
    if (end > file->capacity) {
        sqlite3_int64 capacity = file->capacity > 0 ? file->capacity : 64 * 1024;
        while (capacity < end) capacity *= 2;
        unsigned char *grown = sqlite3_realloc64(file->buffer, (sqlite3_uint64)capacity);
        if (grown == NULL) return writeGatheredThen(file, data, amount, offset);
        file->buffer = grown;
        file->capacity = capacity;
    }
    memcpy(file->buffer + at, data, (size_t)amount);
    if (end > file->length) file->length = end;
    file->gathered++;
    return SQLITE_OK;
}

static int gatherWrite(sqlite3_file *pFile, const void *data, int amount, sqlite3_int64 offset) {
    GatheringFile *file = (GatheringFile *)pFile;
    if (!file->enabled) return writeThrough(file, data, amount, offset);
    if (file->unsynced) return unsyncedWrite(file, data, amount, offset);
    return gatherBytes(file, data, amount, offset);
}

static int gatherTruncate(sqlite3_file *pFile, sqlite3_int64 size) {
    GatheringFile *file = (GatheringFile *)pFile;
    int rc = writeGathered(file);
    if (rc != SQLITE_OK) return rc;
    return file->wrapped->pMethods->xTruncate(file->wrapped, size);
}

static int gatherSync(sqlite3_file *pFile, int flags) {
    GatheringFile *file = (GatheringFile *)pFile;
    int rc = writeGathered(file);
    if (rc != SQLITE_OK) return rc;
    return file->wrapped->pMethods->xSync(file->wrapped, flags);
}

static int gatherFileSize(sqlite3_file *pFile, sqlite3_int64 *size) {
    GatheringFile *file = (GatheringFile *)pFile;
    int rc = writeGathered(file);
    if (rc != SQLITE_OK) return rc;
    return file->wrapped->pMethods->xFileSize(file->wrapped, size);
}

static int gatherLock(sqlite3_file *pFile, int level) {
    GatheringFile *file = (GatheringFile *)pFile;
    return file->wrapped->pMethods->xLock(file->wrapped, level);
}

static int gatherUnlock(sqlite3_file *pFile, int level) {
    GatheringFile *file = (GatheringFile *)pFile;
    return file->wrapped->pMethods->xUnlock(file->wrapped, level);
}

static int gatherCheckReservedLock(sqlite3_file *pFile, int *result) {
    GatheringFile *file = (GatheringFile *)pFile;
    return file->wrapped->pMethods->xCheckReservedLock(file->wrapped, result);
}

static int gatherFileControl(sqlite3_file *pFile, int op, void *argument) {
    GatheringFile *file = (GatheringFile *)pFile;
    int rc = writeGathered(file);
    if (rc != SQLITE_OK) return rc;
    return file->wrapped->pMethods->xFileControl(file->wrapped, op, argument);
}

static int gatherSectorSize(sqlite3_file *pFile) {
    GatheringFile *file = (GatheringFile *)pFile;
    return file->wrapped->pMethods->xSectorSize(file->wrapped);
}

static int gatherDeviceCharacteristics(sqlite3_file *pFile) {
    GatheringFile *file = (GatheringFile *)pFile;
    return file->wrapped->pMethods->xDeviceCharacteristics(file->wrapped);
}

// A write-ahead log has no shared memory and is not mapped; these pass through for
// completeness, as the wrapped file answers them.
static int gatherShmMap(sqlite3_file *pFile, int page, int size, int extend, void volatile **pp) {
    GatheringFile *file = (GatheringFile *)pFile;
    if (file->wrapped->pMethods->iVersion < 2) return SQLITE_IOERR_SHMMAP;
    return file->wrapped->pMethods->xShmMap(file->wrapped, page, size, extend, pp);
}

static int gatherShmLock(sqlite3_file *pFile, int offset, int n, int flags) {
    GatheringFile *file = (GatheringFile *)pFile;
    if (file->wrapped->pMethods->iVersion < 2) return SQLITE_IOERR_SHMLOCK;
    return file->wrapped->pMethods->xShmLock(file->wrapped, offset, n, flags);
}

static void gatherShmBarrier(sqlite3_file *pFile) {
    GatheringFile *file = (GatheringFile *)pFile;
    if (file->wrapped->pMethods->iVersion >= 2) file->wrapped->pMethods->xShmBarrier(file->wrapped);
}

static int gatherShmUnmap(sqlite3_file *pFile, int deleteFlag) {
    GatheringFile *file = (GatheringFile *)pFile;
    if (file->wrapped->pMethods->iVersion < 2) return SQLITE_OK;
    return file->wrapped->pMethods->xShmUnmap(file->wrapped, deleteFlag);
}

static int gatherFetch(sqlite3_file *pFile, sqlite3_int64 offset, int amount, void **pp) {
    GatheringFile *file = (GatheringFile *)pFile;
    *pp = NULL;
    int rc = writeGathered(file);
    if (rc != SQLITE_OK) return rc;
    if (file->wrapped->pMethods->iVersion < 3) return SQLITE_OK;
    return file->wrapped->pMethods->xFetch(file->wrapped, offset, amount, pp);
}

static int gatherUnfetch(sqlite3_file *pFile, sqlite3_int64 offset, void *p) {
    GatheringFile *file = (GatheringFile *)pFile;
    if (file->wrapped->pMethods->iVersion < 3) return SQLITE_OK;
    return file->wrapped->pMethods->xUnfetch(file->wrapped, offset, p);
}

static const sqlite3_io_methods gatheringMethods = {
    3,
    gatherClose, gatherRead, gatherWrite, gatherTruncate, gatherSync, gatherFileSize,
    gatherLock, gatherUnlock, gatherCheckReservedLock, gatherFileControl, gatherSectorSize,
    gatherDeviceCharacteristics,
    gatherShmMap, gatherShmLock, gatherShmBarrier, gatherShmUnmap,
    gatherFetch, gatherUnfetch,
};

static int vfsOpen(sqlite3_vfs *vfs, const char *name, sqlite3_file *pFile, int flags, int *outFlags) {
    (void)vfs;
    if ((flags & SQLITE_OPEN_WAL) == 0) {
        // The wrapped VFS's own file and methods: this allocation is large enough for it.
        return wrappedVFS->xOpen(wrappedVFS, name, pFile, flags, outFlags);
    }
    GatheringFile *file = (GatheringFile *)pFile;
    memset(file, 0, sizeof(GatheringFile));
    file->wrapped = (sqlite3_file *)((char *)pFile + WRAPPED_OFFSET);
    memset(file->wrapped, 0, (size_t)wrappedVFS->szOsFile);
    int rc = wrappedVFS->xOpen(wrappedVFS, name, file->wrapped, flags, outFlags);
    // SQLite's contract: a failed open leaves no methods, and SQLite then does not close it.
    if (rc != SQLITE_OK || file->wrapped->pMethods == NULL) {
        file->base.pMethods = NULL;
        return rc != SQLITE_OK ? rc : SQLITE_CANTOPEN;
    }
    file->base.pMethods = &gatheringMethods;
    return SQLITE_OK;
}

static int registered = 0;
static pthread_once_t registration = PTHREAD_ONCE_INIT;

static void registerOnce(void) {
    sqlite3_vfs *current = sqlite3_vfs_find(NULL);
    // Version 3 is what every method above assumes of the wrapped VFS (SQLite's unix VFS is).
    if (current == NULL || current->iVersion < 3) return;
    wrappedVFS = current;
    memset(&gatheringVFS, 0, sizeof(gatheringVFS));
    gatheringVFS.iVersion = 3;
    gatheringVFS.szOsFile = (int)(WRAPPED_OFFSET + (size_t)current->szOsFile);
    gatheringVFS.mxPathname = current->mxPathname;
    gatheringVFS.zName = CSQLITEWAL_VFS_NAME;
    gatheringVFS.xOpen = vfsOpen;
    csqlitewal_pass_through(&gatheringVFS, current);
    registered = sqlite3_vfs_register(&gatheringVFS, 1) == SQLITE_OK;
}

int csqlitewal_register(void) {
    pthread_once(&registration, registerOnce);
    return registered;
}

/// Turns gathering on for `file`, strictly when `unsynced` (see the top of this file).
static int enableFile(sqlite3_file *file, int unsynced) {
    if (file == NULL || file->pMethods != &gatheringMethods) return 0;
    GatheringFile *log = (GatheringFile *)file;
    if (log->enabled) return log->unsynced == unsynced;
    // What this file wrote before is not known: an append starts at or after the file's end.
    sqlite3_int64 size = 0;
    if (unsynced && log->wrapped->pMethods->xFileSize(log->wrapped, &size) != SQLITE_OK) return 0;
    log->logEnd = size;
    log->unsynced = unsynced;
    log->enabled = 1;
    return 1;
}

int csqlitewal_enable_file(sqlite3_file *file) {
    return enableFile(file, 0);
}

int csqlitewal_enable_file_unsynced(sqlite3_file *file) {
    return enableFile(file, 1);
}

int csqlitewal_file_counts(sqlite3_file *file, sqlite3_int64 *written, sqlite3_int64 *gathered) {
    if (file == NULL || file->pMethods != &gatheringMethods) return 0;
    *written = ((GatheringFile *)file)->written;
    *gathered = ((GatheringFile *)file)->gathered;
    return 1;
}

/// `db`'s main write-ahead log; NULL when it is not open (SQLite opens it at the connection's
/// first read of a database in WAL mode).
static sqlite3_file *mainLog(sqlite3 *db) {
    sqlite3_file *file = NULL;
    if (sqlite3_file_control(db, "main", SQLITE_FCNTL_JOURNAL_POINTER, &file) != SQLITE_OK) return NULL;
    return file;
}

int csqlitewal_enable(sqlite3 *db) {
    int level = -1;
    sqlite3_stmt *statement = NULL;
    if (sqlite3_prepare_v2(db, "PRAGMA main.synchronous", -1, &statement, NULL) == SQLITE_OK
        && sqlite3_step(statement) == SQLITE_ROW) {
        level = sqlite3_column_int(statement, 0);
    }
    sqlite3_finalize(statement);
    // FULL (2) and EXTRA (3) sync the log at every commit, before its frames are indexed;
    // NORMAL (1) indexes them right after writing them.
    if (level < 1) return 0;
    return enableFile(mainLog(db), level == 1);
}

int csqlitewal_counts(sqlite3 *db, sqlite3_int64 *written, sqlite3_int64 *gathered) {
    return csqlitewal_file_counts(mainLog(db), written, gathered);
}
