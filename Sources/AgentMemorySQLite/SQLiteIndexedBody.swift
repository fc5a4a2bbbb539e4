import CSQLiteFunctions
import GRDB
import GRDBSQLite

/// The text the full-text index holds for a record's value, as the statements that read it
/// for the index compute it.
///
/// The text is ``jsonText``: `CASE WHEN json_type(value) = 'text' THEN json_extract(value, '$')
/// ELSE value END`, which parses the value's JSON twice. Most values are JSON strings with
/// nothing to unescape, whose text is the bytes between the quotes: `agent_memory_body(value)`
/// (``register(_:)``, in C: ``CSQLiteFunctions``) returns those bytes for such a value and NULL
/// for any other, and ``rowText`` falls back to the JSON functions then. The result is theirs,
/// byte for byte, so the index and the texts its deletes give always agree, and agree with
/// indexes built by older versions from the generated `body` column of the same definition.
///
/// That column went (migration `2026-12-06.3-records-without-body-column`): SQLite computes
/// every generated column, `VIRTUAL` ones too, at every `INSERT` and `UPDATE` of a row, so each
/// write parsed its value's JSON twice for a text only the index's passes read (BENCHMARKS.md,
/// round forty-three). Measured on the catch-up's statement (`scripts/bench/fts_body_text.py`,
/// 40,960 notes, 4,096 a transaction): the JSON functions cost 0.5 µs of the 4.8 µs a row took
/// to index, which the function spares most rows.
enum SQLiteIndexedBody {
    /// The function's name in SQL.
    static let functionName = "agent_memory_body"

    /// The indexed text of the row of a statement over `memory_records` alone, for a result
    /// column.
    static let rowText = expression(of: nil)

    /// The indexed text of `table`'s row (a table name or alias; `nil` for the statement's only
    /// table), for a result column.
    static func expression(of table: String?) -> String {
        let value = (table.map { "\($0)." } ?? "") + "value"
        return "COALESCE(\(functionName)(\(value)), \(jsonText(of: value)))"
    }

    /// The indexed text of the JSON text `value` (an SQL expression) by SQLite's JSON functions:
    /// a JSON string's text, unescaped, or any other value's JSON as it is.
    static func jsonText(of value: String) -> String {
        "CASE WHEN json_type(\(value)) = 'text' THEN json_extract(\(value), '$') ELSE \(value) END"
    }

    /// Registers the function on `db`'s connection (once per connection, as it opens).
    static func register(_ db: Database) throws {
        let code = csqlitefunctions_register_body(db.sqliteConnection)
        guard code == SQLITE_OK else {
            throw DatabaseError(resultCode: ResultCode(rawValue: code), message: "cannot register \(functionName)")
        }
    }
}
