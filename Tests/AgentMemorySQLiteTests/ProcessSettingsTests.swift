import AgentMemorySQLite
import CSQLiteSettings
import GRDBSQLite
import Testing

/// ``SQLiteMemoryStore/useMultiThreadSQLite()``: it answers whether it took effect, and the
/// answer is what a connection opened afterwards shows. In this process other tests may have
/// used SQLite first, so either answer can come; `agent-memory bench`'s JSON shows the command's
/// own (BenchCommandTests).
@Suite("SQLite: the process's threading mode")
struct ProcessSettingsTests {
    @Test func theAnswerIsWhatAConnectionOpenedAfterwardsHas() {
        let tookEffect = SQLiteMemoryStore.useMultiThreadSQLite()
        #expect(SQLiteMemoryStore.useMultiThreadSQLite() == tookEffect, "later calls give the first call's answer")
        if tookEffect {
            #expect(SQLiteMemoryStore.sqliteIsMultiThread == true)
        } else if sqlite3_threadsafe() == 1 {
            // Built serialized (as Debian's is) and already in use: nothing changed.
            #expect(SQLiteMemoryStore.sqliteIsMultiThread == false)
        }
    }

    /// Once SQLite is in use the setting is refused and the mode stays as it was, whichever it
    /// was: the C function itself, called after a connection has been opened.
    @Test func onceSQLiteIsInUseNothingChanges() {
        let before = SQLiteMemoryStore.sqliteIsMultiThread  // opens a connection: SQLite is in use
        #expect(before != nil)
        #expect(csqlitesettings_use_multithread() == 0)
        #expect(SQLiteMemoryStore.sqliteIsMultiThread == before)
    }
}
