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
        return value.withUTF8 { bindBytes($0, to: handle, at: index, copied: true) }
    }

    /// Binds `first` and `second` to parameters 1 and 2 of `handle` without copying them
    /// (`SQLITE_STATIC`) and runs `body`, which must step and reset the statement before it
    /// returns: the bound bytes are the strings' own, valid only inside this call. Copying each
    /// (`SQLITE_TRANSIENT`) was an allocation and a free per string, with SQLite's allocator
    /// mutex around each. When a bind fails, `body` is not run and the result is `nil`.
    static func withBound<R>(_ first: String, _ second: String, to handle: OpaquePointer, _ body: () -> R?) -> R? {
        var first = first, second = second
        return first.withUTF8 { one in
            second.withUTF8 { two in
                guard bindBytes(one, to: handle, at: 1, copied: false) == SQLITE_OK,
                      bindBytes(two, to: handle, at: 2, copied: false) == SQLITE_OK
                else {
                    sqlite3_clear_bindings(handle)
                    return nil
                }
                return body()
            }
        }
    }

    /// Binds `bytes` as text, `copied` by SQLite (`SQLITE_TRANSIENT`) or read in place until
    /// the binding changes (`SQLITE_STATIC`); an empty buffer as the empty string (one with no
    /// address would be taken for NULL).
    private static func bindBytes(_ bytes: UnsafeBufferPointer<UInt8>, to handle: OpaquePointer, at index: Int32, copied: Bool) -> Int32 {
        guard let base = bytes.baseAddress, !bytes.isEmpty else {
            return sqlite3_bind_text(handle, index, "", 0, SQLiteStoredRow.transient)
        }
        return sqlite3_bind_text(
            handle, index, UnsafeRawPointer(base).assumingMemoryBound(to: CChar.self), Int32(bytes.count),
            copied ? SQLiteStoredRow.transient : nil)
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
