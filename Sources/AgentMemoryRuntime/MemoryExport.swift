import AgentMemory

/// A namespace as JSON Lines: one record per line with every field (`MemoryRecord.jsonObject`),
/// keys in byte order, as `agent-memory export` writes it and ``MemoryImport`` reads it.
public enum MemoryExport {
    /// The records read from the store per page (and per chunk handed to the writer).
    public static let pageSize = 1_000

    /// One record as a line of JSON, with its line break.
    public static func line(_ record: MemoryRecord) -> String {
        record.jsonObject.jsonString() + "\n"
    }

    /// Reads every record of `namespace` a page at a time and hands each page to `write` as
    /// whole lines, so the output can be streamed.
    public static func write(
        from store: any MemoryStore, namespace: Namespace, to write: (String) throws -> Void
    ) async throws {
        var cursor: String?
        repeat {
            let page = try await store.list(in: namespace, prefix: nil, cursor: cursor, limit: pageSize)
            try write(page.records.map(line).joined())
            cursor = page.nextCursor
        } while cursor != nil
    }
}
