import GRDBSQLite

/// Binds a statement's parameters in order, from the first; remembers the first failure.
struct SQLiteBinder {
    let handle: OpaquePointer
    private var index: Int32 = 1
    private(set) var failure: Int32?
    /// Where text is copied and bound from without SQLite's own copy (`nil`: SQLite copies it).
    private let arena: SQLiteTextArena?

    /// A binder of `handle`'s parameters; with `arena`, text is copied into the arena and bound
    /// in place (``SQLiteTextArena``), so the caller must step the statement, then reset it and
    /// clear its bindings, before the arena is reset.
    init(handle: OpaquePointer, arena: SQLiteTextArena? = nil) {
        self.handle = handle
        self.arena = arena
    }

    private mutating func record(_ code: Int32) {
        if code != SQLITE_OK, failure == nil { failure = code }
        index += 1
    }

    /// Text with its exact bytes (a NUL inside is kept), or NULL.
    mutating func text(_ value: String?) {
        guard let value else { return record(sqlite3_bind_null(handle, index)) }
        if let arena, let code = arena.bind(value, to: handle, at: index) { return record(code) }
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
    static func bindBytes(_ bytes: UnsafeBufferPointer<UInt8>, to handle: OpaquePointer, at index: Int32, copied: Bool) -> Int32 {
        guard let base = bytes.baseAddress, !bytes.isEmpty else {
            return sqlite3_bind_text(handle, index, "", 0, SQLiteStoredRow.transient)
        }
        return sqlite3_bind_text(
            handle, index, UnsafeRawPointer(base).assumingMemoryBound(to: CChar.self), Int32(bytes.count),
            copied ? SQLiteStoredRow.transient : nil)
    }

    /// Bytes bound as text as they are (SQLite copies them), whether or not they are valid UTF-8.
    mutating func bytes(_ value: [UInt8]) {
        record(value.withUnsafeBufferPointer { Self.bindBytes($0, to: handle, at: index, copied: true) })
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

/// Memory that the text of a write statement's parameters is copied into and bound from in
/// place (`SQLITE_STATIC`), instead of SQLite copying each string into an allocation of its own
/// (`SQLITE_TRANSIENT`) and freeing it when the bindings are cleared: a batch's multi-row
/// inserts bind six strings a put, and the allocations and frees were about 3% of an `exec` of
/// 2,000 `remember` calls (callgrind). Also used by a row's update and delete and by the notes
/// of indexed text.
///
/// The memory is blocks of ``blockSize`` bytes, reused from the first after each ``reset()``
/// (which keeps two); a string longer than a quarter of a block is left to SQLite to copy.
/// Bound bytes stay valid until the next ``reset()``, which the caller makes only after the
/// statement was stepped, reset and its bindings cleared. Not thread-safe: the writer
/// connection's statements use it, one at a time.
final class SQLiteTextArena {
    /// The size of a block.
    static let blockSize = 64 * 1024
    private var blocks: [UnsafeMutableRawPointer] = []
    /// The block being filled, and how far.
    private var current = 0
    private var used = 0

    deinit {
        blocks.forEach { $0.deallocate() }
    }

    /// Makes every block free again: nothing bound from the arena may be read after this.
    /// Blocks past the second (a statement of long strings) are given back.
    func reset() {
        current = 0
        used = 0
        while blocks.count > 2 { blocks.removeLast().deallocate() }
    }

    /// Copies `value`'s bytes into the arena and binds them in place to parameter `index` of
    /// `handle`; returns SQLite's code, or `nil` when the string is too long for the arena (the
    /// caller binds it as a copy).
    func bind(_ value: String, to handle: OpaquePointer, at index: Int32) -> Int32? {
        var value = value
        return value.withUTF8 { bytes -> Int32? in
            guard bytes.count <= Self.blockSize / 4 else { return nil }
            guard let source = bytes.baseAddress, !bytes.isEmpty else {
                return SQLiteBinder.bindBytes(bytes, to: handle, at: index, copied: true)
            }
            if used + bytes.count > Self.blockSize {
                current += 1
                used = 0
            }
            if current == blocks.count {
                blocks.append(UnsafeMutableRawPointer.allocate(byteCount: Self.blockSize, alignment: 16))
            }
            let target = blocks[current] + used
            target.copyMemory(from: source, byteCount: bytes.count)
            used += bytes.count
            return SQLiteBinder.bindBytes(
                UnsafeBufferPointer(start: target.assumingMemoryBound(to: UInt8.self), count: bytes.count), to: handle, at: index,
                copied: false)
        }
    }
}
