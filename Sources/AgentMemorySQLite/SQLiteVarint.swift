/// SQLite's variable-length integers, as FTS5 stores them in its structure record and its
/// `memory_fts_docsize` blobs: seven bits a byte, most significant first, the high bit set on
/// every byte but the last, and a ninth byte that gives all eight of its bits (SQLite's
/// `sqlite3GetVarint`).
enum SQLiteVarint {
    /// The varint at `offset` in `bytes`, with `offset` moved past it; `nil` when `bytes` end
    /// inside it.
    static func read(_ bytes: UnsafeRawBufferPointer, at offset: inout Int) -> UInt64? {
        var value: UInt64 = 0
        for position in 0..<9 {
            guard offset < bytes.count else { return nil }
            let byte = bytes[offset]
            offset += 1
            if position == 8 { return value << 8 | UInt64(byte) }
            value = value << 7 | UInt64(byte & 0x7F)
            if byte & 0x80 == 0 { break }
        }
        return value
    }
}
