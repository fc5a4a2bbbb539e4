import AgentMemoryJSON
import Foundation

/// One stored memory: a key, its JSON value and its bookkeeping.
public struct MemoryRecord: Sendable, Hashable, Codable {
    /// The key, exactly as written (compared byte for byte).
    public var key: String
    /// The value.
    public var value: JSONValue
    /// 1 when created, plus one on every write.
    public var version: Int
    /// When the key was first written (kept on update).
    public var createdAt: Date
    /// When the key was last written.
    public var updatedAt: Date
    /// The agent id of the last writer, as bound by the host; `nil` when none was given.
    public var author: String?
    /// When the record stops being visible, if it has a time to live.
    public var expiresAt: Date?

    /// Creates a record.
    public init(
        key: String, value: JSONValue, version: Int, createdAt: Date, updatedAt: Date,
        author: String? = nil, expiresAt: Date? = nil
    ) {
        self.key = key
        self.value = value
        self.version = version
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.author = author
        self.expiresAt = expiresAt
    }

    /// Whether the record has expired at `date`.
    public func isExpired(at date: Date) -> Bool {
        guard let expiresAt else { return false }
        return expiresAt <= date
    }

    /// The record as a JSON object with ISO 8601 times (`expiresAt` and `author` are `null`
    /// when absent), as printed by `agent-memory recall --json` and `export`.
    public var jsonObject: JSONValue {
        [
            "key": .string(key),
            "value": value,
            "version": .int(version),
            "createdAt": .string(MemoryRecord.formatDate(createdAt)),
            "updatedAt": .string(MemoryRecord.formatDate(updatedAt)),
            "author": author.map(JSONValue.string) ?? .null,
            "expiresAt": expiresAt.map { .string(MemoryRecord.formatDate($0)) } ?? .null,
        ]
    }

    /// Reads a record from the object written by ``jsonObject``; throws a message naming the
    /// field that is missing or malformed. Missing times are `now`.
    public init(jsonObject json: JSONValue, now: Date = Date()) throws {
        guard let object = json.objectValue else { throw MemoryError(.invalidArgument, "a record must be a JSON object") }
        guard let key = object["key"]?.stringValue else { throw MemoryError(.invalidArgument, "field \"key\" must be a string") }
        guard let value = object["value"] else { throw MemoryError(.invalidArgument, "field \"value\" is missing") }
        func date(_ field: String, required: Bool) throws -> Date? {
            switch object[field] {
            case nil where !required, .some(.null) where !required: return nil
            case .some(.string(let text)):
                guard let date = MemoryRecord.parseDate(text) else {
                    throw MemoryError(.invalidArgument, "field \"\(field)\" must be an ISO 8601 time, got \"\(text)\"")
                }
                return date
            default: throw MemoryError(.invalidArgument, "field \"\(field)\" must be an ISO 8601 time")
            }
        }
        let version: Int
        switch object["version"] {
        case nil: version = 1
        case .some(let number):
            guard let parsed = number.intValue, parsed >= 1 else {
                throw MemoryError(.invalidArgument, "field \"version\" must be an integer >= 1")
            }
            version = parsed
        }
        let author: String?
        switch object["author"] {
        case nil, .some(.null): author = nil
        case .some(.string(let text)): author = text
        default: throw MemoryError(.invalidArgument, "field \"author\" must be a string or null")
        }
        self.init(
            key: key, value: value, version: version,
            createdAt: try date("createdAt", required: false) ?? now,
            updatedAt: try date("updatedAt", required: false) ?? now,
            author: author, expiresAt: try date("expiresAt", required: false)
        )
    }

    /// Formats a time as ISO 8601 with milliseconds, in UTC.
    public static func formatDate(_ date: Date) -> String {
        if let text = UTCTimestamp.format(date) { return text }
        return date.formatted(.iso8601.year().month().day().time(includingFractionalSeconds: true).timeZone(separator: .omitted))
    }

    /// Parses an ISO 8601 time with or without fractional seconds.
    public static func parseDate(_ text: String) -> Date? {
        if let date = UTCTimestamp.parse(text) { return date }
        if let date = try? Date(text, strategy: .iso8601.year().month().day().time(includingFractionalSeconds: true).timeZone(separator: .omitted)) {
            return date
        }
        return try? Date(text, strategy: .iso8601)
    }
}
