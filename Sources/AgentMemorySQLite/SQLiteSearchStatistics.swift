import AgentMemoryCore
import Foundation
import GRDB
import GRDBSQLite

/// BM25's collection statistics from FTS5 in one call of an auxiliary function of our own,
/// `agent_memory_statistics(memory_fts, LIMIT)`, registered on every connection of the store.
///
/// Called on the first row of `memory_fts MATCH '"w1" OR "w2" …'`, it returns the index's
/// row count and token total (`xRowCount`, `xColumnTotalSize`), and for each phrase of the
/// query (each word, in the query's order) the rows holding it, counted up to `LIMIT` with
/// `xQueryPhrase` (rowid order) and the last rowid reached. The same numbers as counting
/// `SELECT rowid FROM memory_fts WHERE memory_fts MATCH '"w"' LIMIT n` per word, but FTS5
/// walks each word's rows in C instead of SQLite's virtual machine stepping through them.
/// Shapes from SQLite 3.40's `sqlite3.h` (`fts5_api`, `Fts5ExtensionApi`).
enum SQLiteSearchStatistics {
    /// The function's SQL name.
    static let functionName = "agent_memory_statistics"

    /// What the function found: rows and tokens of the whole index, and per word the rows
    /// counted (up to the limit) and the last rowid reached.
    struct Counts {
        var rows: Int64
        var tokens: Int64
        var words: [(count: Int, reached: Int64?)]
    }

    /// Registers the function on `db`'s connection (once per connection, as it opens).
    static func register(_ db: Database) throws {
        guard let api = try fts5API(db) else {
            throw DatabaseError(resultCode: .SQLITE_ERROR, message: "FTS5 is not available in this SQLite")
        }
        let code = api.pointee.xCreateFunction(UnsafeMutablePointer(mutating: api), functionName, nil, statisticsFunction, nil)
        guard code == SQLITE_OK else {
            throw DatabaseError(resultCode: ResultCode(rawValue: code), message: "cannot register \(functionName)")
        }
    }

    /// The statistics for `match` (quoted words joined by OR, in the order of the counts
    /// wanted), or `nil` when no row matches.
    static func counts(match: String, limit: Int, db: Database) throws -> Counts? {
        let statement = try db.cachedStatement(sql: """
            SELECT \(functionName)(memory_fts, ?) FROM memory_fts WHERE memory_fts MATCH ? LIMIT 1
            """)
        guard let blob = try Data.fetchOne(statement, arguments: [limit, match]) else { return nil }
        let values: [Int64] = blob.withUnsafeBytes { bytes in
            (0..<(bytes.count / 8)).map { Int64(littleEndian: bytes.loadUnaligned(fromByteOffset: $0 * 8, as: Int64.self)) }
        }
        guard values.count >= 2, values.count % 2 == 0 else {
            throw DatabaseError(resultCode: .SQLITE_ERROR, message: "\(functionName) returned \(blob.count) bytes")
        }
        let words = stride(from: 2, to: values.count, by: 2).map { index in
            (count: Int(values[index]), reached: values[index] > 0 ? Optional(values[index + 1]) : nil)
        }
        return Counts(rows: values[0], tokens: values[1], words: words)
    }

    /// The `fts5_api` of `db`'s connection (`SELECT fts5(?1)` with a pointer bound, as
    /// SQLite's FTS5 documentation describes), or `nil` without FTS5.
    private static func fts5API(_ db: Database) throws -> UnsafePointer<fts5_api>? {
        var statement: OpaquePointer?
        guard sqlite3_prepare_v2(db.sqliteConnection, "SELECT fts5(?1)", -1, &statement, nil) == SQLITE_OK else { return nil }
        defer { sqlite3_finalize(statement) }
        var api: UnsafePointer<fts5_api>?
        let type: StaticString = "fts5_api_ptr"
        type.withUTF8Buffer { name in
            name.withMemoryRebound(to: CChar.self) { name in
                _ = sqlite3_bind_pointer(statement, 1, &api, name.baseAddress, nil)
            }
        }
        _ = sqlite3_step(statement)
        return api
    }

    /// Counting state of one phrase, handed to `xQueryPhrase`'s callback.
    private struct PhraseCount {
        var count: Int64 = 0
        var reached: Int64 = 0
        var limit: Int64
    }

    /// The auxiliary function: a blob of little-endian 64-bit integers, rows and tokens, then
    /// per phrase its count and the last rowid reached.
    private static let statisticsFunction: fts5_extension_function = { api, fts, context, count, values in
        guard let api, let fts else { return }
        var rows: Int64 = 0
        var tokens: Int64 = 0
        var code = api.pointee.xRowCount(fts, &rows)
        if code == SQLITE_OK { code = api.pointee.xColumnTotalSize(fts, -1, &tokens) }
        let limit = count > 0 ? sqlite3_value_int64(values?[0]) : Int64.max
        var result: [Int64] = [rows, tokens]
        let phrases = api.pointee.xPhraseCount(fts)
        var phrase: Int32 = 0
        while code == SQLITE_OK, phrase < phrases {
            var state = PhraseCount(limit: max(1, limit))
            code = api.pointee.xQueryPhrase(fts, phrase, &state) { api, fts, user in
                guard let api, let user else { return SQLITE_ERROR }
                let state = user.assumingMemoryBound(to: PhraseCount.self)
                state.pointee.count += 1
                state.pointee.reached = api.pointee.xRowid(fts)
                return state.pointee.count >= state.pointee.limit ? SQLITE_DONE : SQLITE_OK
            }
            result += [state.count, state.reached]
            phrase += 1
        }
        guard code == SQLITE_OK else {
            sqlite3_result_error_code(context, code)
            return
        }
        let little = result.map(\.littleEndian)
        little.withUnsafeBytes { bytes in
            sqlite3_result_blob(context, bytes.baseAddress, Int32(bytes.count), unsafeBitCast(-1, to: sqlite3_destructor_type.self))
        }
    }
}
