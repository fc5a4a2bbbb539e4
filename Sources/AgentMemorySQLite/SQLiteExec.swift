import GRDB
import GRDBSQLite

/// Statements the store runs while it opens a connection, without GRDB's `SQL` literals.
///
/// GRDB's `execute(sql:)` and `fetchOne(_:sql:)` build an `SQL` literal, whose first use in a
/// process makes the Swift runtime instantiate the metadata of a generic `joined(separator:)`
/// from mangled names, with a scan of every conformance record of the binary: about 480,000
/// instructions, a tenth of a `remember` process (BENCHMARKS.md, round forty-seven). These
/// go through SQLite's C API, or through a statement GRDB prepares from the text as it is.
extension Database {
    /// Runs `sql`, statements without parameters, with `sqlite3_exec`; throws SQLite's error.
    func run(_ sql: String) throws {
        var message: UnsafeMutablePointer<CChar>?
        let code = sqlite3_exec(sqliteConnection, sql, nil, nil, &message)
        defer { sqlite3_free(message) }
        guard code == SQLITE_OK else {
            throw DatabaseError(resultCode: ResultCode(rawValue: code), message: message.map { String(cString: $0) }, sql: sql)
        }
    }

    /// The first column of every row `sql` returns, as text (NULL as `nil`), from a statement
    /// prepared for this read.
    func texts(_ sql: String) throws -> [String?] {
        try String?.fetchAll(makeStatement(sql: sql))
    }
}
