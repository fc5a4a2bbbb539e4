import AgentMemory
import Foundation

/// JSON Lines records (as ``MemoryExport`` writes them) checked line by line against a
/// store's limits, ready to be written in one batch.
///
/// Each record's value, author and remaining time to live are kept; versions and times are the
/// store's (a key that exists gets a new version). Records that have already expired are
/// skipped. Blank lines are ignored.
public struct MemoryImport: Sendable {
    /// The puts to write, in line order.
    public private(set) var operations: [MemoryOperation] = []
    /// How many records were skipped because they had already expired.
    public private(set) var skippedExpired = 0

    /// Checks every line of `data` against `limits`; records without an author get `agent`.
    /// Throws a ``MemoryImportError`` naming every bad line when any is bad.
    public init(jsonLines data: Data, limits: MemoryLimits, agent: String?, now: Date = Date()) throws(MemoryImportError) {
        var problems: [MemoryImportError.Problem] = []
        var operations: [MemoryOperation] = []
        var skippedExpired = 0
        Self.eachLine(of: data) { index, line in
            let text = line.last == UInt8(ascii: "\r") ? UnsafeBufferPointer(rebasing: line.dropLast()) : line
            if text.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { return }
            do {
                let record = try MemoryRecord(jsonObject: JSONValue(parsing: Array(text)), now: now)
                let key = try MemoryKey(record.key)
                try limits.validate(key: key)
                try limits.validate(valueBytes: record.value.jsonByteCount, key: record.key)
                let author = record.author ?? agent
                if let expiresAt = record.expiresAt {
                    guard expiresAt > now else {
                        skippedExpired += 1
                        return
                    }
                    let remaining = Duration.milliseconds(Int64(expiresAt.timeIntervalSince(now) * 1000))
                    operations.append(.put(key: key, value: record.value, options: PutOptions(ttl: remaining, author: author)))
                } else {
                    operations.append(.put(key: key, value: record.value, options: PutOptions(author: author)))
                }
            } catch let error as MemoryError {
                problems.append(MemoryImportError.Problem(line: index + 1, message: error.message))
            } catch {
                problems.append(MemoryImportError.Problem(line: index + 1, message: "not valid JSON: \(error)"))
            }
        }
        if !problems.isEmpty { throw MemoryImportError(problems: problems) }
        self.operations = operations
        self.skippedExpired = skippedExpired
    }

    /// Calls `body` with each line of `data` (without its newline) and its index from 0; the
    /// text after the last newline is a line too, empty when `data` ends with one. Lines are
    /// found with `memchr`: `Data`'s generic `split` stepped byte by byte through its index
    /// and was a tenth of an import of 100,000 records (BENCHMARKS.md, round twenty-six).
    static func eachLine(of data: Data, _ body: (Int, UnsafeBufferPointer<UInt8>) -> Void) {
        data.withUnsafeBytes { raw in
            let bytes = raw.bindMemory(to: UInt8.self)
            guard let base = bytes.baseAddress else {
                body(0, bytes)
                return
            }
            var start = 0
            var index = 0
            while true {
                let rest = bytes.count - start
                let newline = rest > 0 ? memchr(base + start, Int32(UInt8(ascii: "\n")), rest) : nil
                let end = newline.map { UnsafeRawPointer($0) - UnsafeRawPointer(base) } ?? bytes.count
                body(index, UnsafeBufferPointer(rebasing: bytes[start..<end]))
                guard newline != nil else { return }
                start = end + 1
                index += 1
            }
        }
    }

    /// Checks `data` against `store`'s own limits and, when every line is good, writes the
    /// records into `namespace` in one batch; when a line is bad nothing is written.
    @discardableResult
    public static func run(
        _ data: Data, into store: any MemoryStore, namespace: Namespace, agent: String?, now: Date = Date()
    ) async throws -> MemoryImport {
        let checked = try MemoryImport(jsonLines: data, limits: store.limits, agent: agent, now: now)
        try await store.batch(checked.operations, in: namespace)
        return checked
    }
}

/// The bad lines of a JSON Lines import, each with its number; nothing was imported.
public struct MemoryImportError: Error, Sendable, Hashable, CustomStringConvertible {
    /// One bad line.
    public struct Problem: Sendable, Hashable {
        /// The line number, from 1.
        public let line: Int
        /// What is wrong with it.
        public let message: String

        /// Creates a problem.
        public init(line: Int, message: String) {
            self.line = line
            self.message = message
        }
    }

    /// Every bad line, in order.
    public let problems: [Problem]

    /// Creates an error.
    public init(problems: [Problem]) { self.problems = problems }

    /// `nothing was imported; fix these lines:` then `line N: message` per bad line.
    public var description: String {
        (["nothing was imported; fix these lines:"] + problems.map { "line \($0.line): \($0.message)" }).joined(separator: "\n")
    }
}
