import GRDBSQLite

/// Binds a statement's parameters in order, from the first; remembers the first failure.
struct SQLiteBinder {
    let handle: OpaquePointer
    private var index: Int32 = 1
    private(set) var failure: Int32?

    init(handle: OpaquePointer) {
        self.handle = handle
    }

    private mutating func record(_ code: Int32) {
        if code != SQLITE_OK, failure == nil { failure = code }
        index += 1
    }

    /// Text with its exact bytes (a NUL inside is kept), or NULL.
    mutating func text(_ value: String?) {
        guard let value else { return record(sqlite3_bind_null(handle, index)) }
        record(Self.bind(value, to: handle, at: index))
    }

    /// Binds `value`'s exact bytes (a NUL inside is kept) to parameter `index` of `handle`,
    /// copied by SQLite; returns SQLite's code. Reads the string's own UTF-8 storage: the
    /// implicit C-string argument of `sqlite3_bind_text` allocated a copy of every bound string
    /// (about 5% of a point read's instructions for its two keys).
    static func bind(_ value: String, to handle: OpaquePointer, at index: Int32) -> Int32 {
        var value = value
        return value.withUTF8 { bytes in
            // An empty buffer may have no address, which SQLite would take for NULL.
            bytes.isEmpty
                ? sqlite3_bind_text(handle, index, "", 0, SQLiteStoredRow.transient)
                : sqlite3_bind_text(handle, index, UnsafeRawPointer(bytes.baseAddress!).assumingMemoryBound(to: CChar.self), Int32(bytes.count), SQLiteStoredRow.transient)
        }
    }

    /// An integer.
    mutating func integer(_ value: Int64) {
        record(sqlite3_bind_int64(handle, index, value))
    }

    /// A real, or NULL.
    mutating func real(_ value: Double?) {
        guard let value else { return record(sqlite3_bind_null(handle, index)) }
        record(sqlite3_bind_double(handle, index, value))
    }
}
