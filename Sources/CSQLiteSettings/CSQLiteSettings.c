// See include/CSQLiteSettings.h. SQLite's documentation: "Configuring The SQLite Library"
// (sqlite3_config, SQLITE_CONFIG_MULTITHREAD, SQLITE_CONFIG_MEMSTATUS) and sqlite3_db_mutex,
// which "returns a NULL pointer" in multi-thread and single-thread modes.
#include "CSQLiteSettings.h"

#include <stddef.h>
#include <sqlite3.h>

int csqlitesettings_use_multithread(void) {
    // Both calls return SQLITE_MISUSE, changing nothing, once sqlite3_initialize has run.
    if (sqlite3_config(SQLITE_CONFIG_MULTITHREAD) != SQLITE_OK) {
        return 0;
    }
    if (sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0) != SQLITE_OK) {
        return 0;
    }
    return 1;
}

int csqlitesettings_connections_are_multithread(void) {
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(":memory:", &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) != SQLITE_OK) {
        sqlite3_close(db);
        return -1;
    }
    int multithread = sqlite3_db_mutex(db) == NULL ? 1 : 0;
    sqlite3_close(db);
    return multithread;
}
