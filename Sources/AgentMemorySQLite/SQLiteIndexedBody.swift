import CSQLiteFunctions
import GRDB
import GRDBSQLite

/// The text the full-text index holds for a record's value, as the statements that read it
/// for the index compute it.
///
/// `memory_records.body` is a generated column: `CASE WHEN json_type(value) = 'text' THEN
/// json_extract(value, '$') ELSE value END`, which parses the value's JSON twice. Most values
/// are JSON strings with nothing to unescape, whose text is the bytes between the quotes:
/// `agent_memory_body(value)` (``register(_:)``, in C: ``CSQLiteFunctions``) returns those
/// bytes for such a value and NULL for any other, and ``rowText`` falls back to the
/// column then. The result is the column's, byte for byte, so the index and the texts its
/// deletes give (read the same way, or by an older version through the column) always agree.
///
/// Measured on the catch-up's statement (`scripts/bench/fts_body_text.py`, 40,960 notes, 4,096
/// a transaction): the column cost 0.5 µs of the 4.8 µs a row took to index.
enum SQLiteIndexedBody {
    /// The function's name in SQL.
    static let functionName = "agent_memory_body"

    /// The indexed text of the row of a statement over `memory_records` alone, for a result
    /// column.
    static let rowText = expression(of: nil)

    /// The indexed text of `table`'s row (a table name or alias; `nil` for the statement's only
    /// table), for a result column.
    static func expression(of table: String?) -> String {
        let prefix = table.map { "\($0)." } ?? ""
        return "COALESCE(\(functionName)(\(prefix)value), \(prefix)body)"
    }

    /// Registers the function on `db`'s connection (once per connection, as it opens).
    static func register(_ db: Database) throws {
        let code = csqlitefunctions_register_body(db.sqliteConnection)
        guard code == SQLITE_OK else {
            throw DatabaseError(resultCode: ResultCode(rawValue: code), message: "cannot register \(functionName)")
        }
    }
}
