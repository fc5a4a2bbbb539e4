import ClaudeClient
import AgentMemoryJSON
import AgentMemoryCore
import ClaudeMessages
import Foundation

/// A saved conversation: every message exactly as sent or received, plus what the loop needs
/// to resume it.
public struct SessionTranscript: Sendable, Hashable {
    /// The session id.
    public var id: String
    /// The messages, in order, exactly as sent and received.
    public var messages: [Message]
    /// The stop reason of the last assistant turn, when the last message is one.
    public var lastStopReason: StopReason?
    /// Tokens used by every call of the session so far.
    public var usage: Usage
    /// When the session was created.
    public var createdAt: Date
    /// When the session was last saved.
    public var updatedAt: Date
    /// The version of the stored metadata this transcript was read or written as (0: never
    /// saved); a save from a stale transcript fails instead of overwriting a newer one.
    public var storeVersion: Int
    /// What the latest request left out or cleared (see ``ContextMarks``).
    public var contextMarks: ContextMarks

    /// A new, empty transcript.
    public init(id: String, now: Date = Date()) {
        self.id = id
        messages = []
        lastStopReason = nil
        usage = .zero
        createdAt = now
        updatedAt = now
        storeVersion = 0
        contextMarks = ContextMarks()
    }
}

/// A saved session, as listed.
public struct SessionSummary: Sendable, Hashable {
    /// The session id.
    public var id: String
    /// How many messages it holds.
    public var messageCount: Int
    /// When it was created.
    public var createdAt: Date
    /// When it was last saved.
    public var updatedAt: Date
    /// Tokens used so far.
    public var usage: Usage
}

/// Where sessions are kept: the loop's only view of persistence.
public protocol SessionStore: Sendable {
    /// The session `id`, or `nil` when none was saved.
    func load(_ id: String) async throws -> SessionTranscript?

    /// Saves `transcript` atomically, writing only the messages from `savedMessageCount` on
    /// (those before are already stored), and returns it with its new ``SessionTranscript/storeVersion``.
    /// Throws when another writer saved the session since `transcript` was loaded.
    func save(_ transcript: SessionTranscript, savedMessageCount: Int) async throws -> SessionTranscript

    /// Every saved session, by id.
    func list() async throws -> [SessionSummary]

    /// Deletes a session; returns whether it existed.
    @discardableResult
    func delete(_ id: String) async throws -> Bool
}

/// An error about sessions: an invalid id, a stored transcript that cannot be read, or a
/// concurrent writer.
public struct SessionError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What is wrong.
    public let message: String
    /// Creates an error.
    public init(_ message: String) { self.message = message }
    /// What is wrong.
    public var description: String { message }

    /// Throws unless `id` matches `^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$` (as namespaces do, so
    /// that an id can never reach outside its own keys).
    public static func validate(id: String) throws {
        let bytes = Array(id.utf8)
        func allowed(_ byte: UInt8, first: Bool) -> Bool {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                return true
            case UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: ":"), UInt8(ascii: "-"):
                return !first
            default:
                return false
            }
        }
        guard (1...128).contains(bytes.count), bytes.enumerated().allSatisfy({ allowed($0.element, first: $0.offset == 0) }) else {
            throw SessionError(
                "invalid session id \"\(id)\": use 1 to 128 letters, digits, '_', '.', ':' or '-', starting with a letter or digit")
        }
    }
}

/// Sessions kept in a ``MemoryStore``, in the agent's namespace under reserved keys that the
/// memory tools never show the model:
///
/// - `_agent_memory/session/<id>/meta`: `{"format", "id", "created_at", "updated_at",
///   "message_count", "last_stop_reason", "usage"}`, and `"context"` (``ContextMarks``) once a
///   request was trimmed or compacted;
/// - `_agent_memory/session/<id>/message/<index>`: one message's JSON, exactly as sent or
///   received, with the index zero-padded to 8 digits so key order is message order.
///
/// Each save is one atomic `batch`: the new messages and the metadata (a compare-and-set on the
/// metadata's version), so a crash leaves either the old or the new transcript.
public struct MemoryStoreSessionStore: SessionStore {
    /// The store.
    public let store: any MemoryStore
    /// The agent's namespace.
    public let namespace: Namespace
    /// The agent id recorded as the writer of every key.
    public let author: String?

    /// Creates a session store over `store` in `namespace`.
    public init(store: any MemoryStore, namespace: Namespace, author: String? = nil) {
        self.store = store
        self.namespace = namespace
        self.author = author
    }

    /// The prefix of every session key: `_agent_memory/session/`.
    public static let keyPrefix = ReservedKeys.prefix + "session/"

    /// The metadata key of session `id`.
    public static func metaKey(_ id: String) -> String { keyPrefix + id + "/meta" }

    /// The key of message `index` of session `id`.
    public static func messageKey(_ id: String, index: Int) -> String {
        let digits = String(index)
        return keyPrefix + id + "/message/" + String(repeating: "0", count: max(0, 8 - digits.count)) + digits
    }

    /// Loads a session; see ``SessionStore/load(_:)``.
    public func load(_ id: String) async throws -> SessionTranscript? {
        try SessionError.validate(id: id)
        guard let meta = try await store.get(Self.metaKey(id), in: namespace) else { return nil }
        guard let object = meta.value.objectValue, let count = object["message_count"]?.intValue else {
            throw SessionError("session \"\(id)\": the stored metadata is not readable: \(meta.value.jsonString().prefix(200))")
        }
        let records = try await store.allRecords(in: namespace, prefix: Self.keyPrefix + id + "/message/")
        guard records.count >= count else {
            throw SessionError("session \"\(id)\": the metadata lists \(count) messages but \(records.count) are stored")
        }
        var transcript = SessionTranscript(id: id)
        do {
            transcript.messages = try records.prefix(count).map { try Message(jsonValue: $0.value) }
        } catch {
            throw SessionError("session \"\(id)\": a stored message is not readable: \(error)")
        }
        transcript.lastStopReason = object["last_stop_reason"]?.stringValue.map(StopReason.init(rawValue:))
        transcript.usage = Usage(jsonValue: object["usage"] ?? .null)
        transcript.createdAt = object["created_at"]?.stringValue.flatMap(MemoryRecord.parseDate) ?? meta.createdAt
        transcript.updatedAt = object["updated_at"]?.stringValue.flatMap(MemoryRecord.parseDate) ?? meta.updatedAt
        transcript.storeVersion = meta.version
        transcript.contextMarks = object["context"].map(ContextMarks.init(jsonValue:)) ?? ContextMarks()
        return transcript
    }

    /// Saves a session; see ``SessionStore/save(_:savedMessageCount:)``.
    public func save(_ transcript: SessionTranscript, savedMessageCount: Int) async throws -> SessionTranscript {
        try SessionError.validate(id: transcript.id)
        let options = PutOptions(author: author)
        var operations: [MemoryOperation] = []
        for index in savedMessageCount..<transcript.messages.count {
            operations.append(.put(key: try MemoryKey(Self.messageKey(transcript.id, index: index)), value: transcript.messages[index].jsonValue, options: options))
        }
        var meta: JSONValue = [
            "format": 1,
            "id": .string(transcript.id),
            "created_at": .string(MemoryRecord.formatDate(transcript.createdAt)),
            "updated_at": .string(MemoryRecord.formatDate(transcript.updatedAt)),
            "message_count": .int(transcript.messages.count),
            "last_stop_reason": transcript.lastStopReason.map { .string($0.rawValue) } ?? .null,
            "usage": transcript.usage.jsonValue,
        ]
        if !transcript.contextMarks.isEmpty, case .object(var object) = meta {
            object["context"] = transcript.contextMarks.jsonValue
            meta = .object(object)
        }
        operations.append(.put(
            key: try MemoryKey(Self.metaKey(transcript.id)), value: meta,
            options: PutOptions(ifVersion: transcript.storeVersion, author: author)))
        let results: [MemoryOperationResult]
        do {
            results = try await store.batch(operations, in: namespace)
        } catch let error as MemoryError where error.code == .versionConflict {
            throw SessionError(
                "session \"\(transcript.id)\" was saved by another writer (\(error.currentAuthor ?? "unknown")) since it was loaded; "
                    + "load it again to continue")
        }
        var saved = transcript
        if case .put(let record)? = results.last { saved.storeVersion = record.version }
        return saved
    }

    /// Lists sessions; see ``SessionStore/list()``.
    public func list() async throws -> [SessionSummary] {
        var summaries: [SessionSummary] = []
        var cursor: String?
        repeat {
            let page = try await store.list(in: namespace, prefix: Self.keyPrefix, cursor: cursor, limit: 1000)
            for record in page.records where record.key.hasSuffix("/meta") {
                guard let object = record.value.objectValue, let id = object["id"]?.stringValue else { continue }
                summaries.append(SessionSummary(
                    id: id, messageCount: object["message_count"]?.intValue ?? 0,
                    createdAt: object["created_at"]?.stringValue.flatMap(MemoryRecord.parseDate) ?? record.createdAt,
                    updatedAt: object["updated_at"]?.stringValue.flatMap(MemoryRecord.parseDate) ?? record.updatedAt,
                    usage: Usage(jsonValue: object["usage"] ?? .null)))
            }
            cursor = page.nextCursor
        } while cursor != nil
        return summaries
    }

    /// Deletes a session; see ``SessionStore/delete(_:)``.
    @discardableResult
    public func delete(_ id: String) async throws -> Bool {
        try SessionError.validate(id: id)
        let records = try await store.allRecords(in: namespace, prefix: Self.keyPrefix + id + "/")
        guard !records.isEmpty else { return false }
        _ = try await store.batch(records.map { .delete(key: MemoryKey(checked: $0.key)) }, in: namespace)
        return true
    }
}
