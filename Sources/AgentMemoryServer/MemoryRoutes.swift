import AgentMemory
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// The BotWire-compatible routes under `/memory/{namespace}`, plus `ETag`/`If-Match`
/// compare-and-set and `append`. Each handler turns HTTP into one store call and back.
struct MemoryRoutes: Sendable {
    let store: any MemoryStore
    let maxBodyBytes: Int
    let defaultListLimit: Int

    /// `PUT /memory/{namespace}/{key}` with `{"value": "<string>"}`.
    func put(_ request: Request, key: MemoryKey, in namespace: Namespace, caller: Caller) async throws -> Response {
        let value = try await stringValue(of: request)
        let ifVersion = try JSONResponses.ifMatchVersion(request)
        let record = try await store.put(key, value: .string(value), in: namespace, options: PutOptions(ifVersion: ifVersion, author: caller.agent))
        return JSONResponses.json(
            [
                "namespace": .string(namespace.name), "key": .string(key.rawValue), "stored": true,
                "bytes": .int(value.utf8.count), "version": .int(record.version),
            ],
            headers: [.eTag: JSONResponses.entityTag(record.version)])
    }

    /// `POST /memory/{namespace}/{key}/append` with `{"value": "<string>", "separator": "..."}`.
    func append(_ request: Request, key: MemoryKey, in namespace: Namespace, caller: Caller) async throws -> Response {
        let body = try await jsonBody(of: request)
        guard case .string(let value)? = body["value"] else { throw HTTPFailure(missingValue()) }
        var separator = ""
        if let given = body["separator"], !given.isNull {
            guard let text = given.stringValue else {
                throw HTTPFailure(JSONResponses.error(.unprocessableContent, "\"separator\" must be a string"))
            }
            separator = text
        }
        let options = AppendOptions(separator: separator, ifVersion: try JSONResponses.ifMatchVersion(request), author: caller.agent)
        let record = try await store.append(key, value: .string(value), in: namespace, options: options)
        return JSONResponses.json(
            [
                "namespace": .string(namespace.name), "key": .string(key.rawValue), "stored": true,
                "bytes": .int(Self.text(of: record.value).utf8.count), "version": .int(record.version),
            ],
            headers: [.eTag: JSONResponses.entityTag(record.version)])
    }

    /// `GET /memory/{namespace}/{key}`: the value (a string; other JSON as its text), times in
    /// Unix seconds, and the version as `ETag`.
    func get(key: MemoryKey, in namespace: Namespace) async throws -> Response {
        guard let record = try await store.get(key, in: namespace) else { throw HTTPFailure(notFound(key, namespace)) }
        return JSONResponses.json(
            [
                "namespace": .string(namespace.name), "key": .string(record.key), "value": .string(Self.text(of: record.value)),
                "created_at": .double(record.createdAt.timeIntervalSince1970),
                "updated_at": .double(record.updatedAt.timeIntervalSince1970),
                "version": .int(record.version), "author": record.author.map(JSONValue.string) ?? .null,
            ],
            headers: [.eTag: JSONResponses.entityTag(record.version)])
    }

    /// `DELETE /memory/{namespace}/{key}`, with `If-Match` for compare-and-delete.
    func delete(_ request: Request, key: MemoryKey, in namespace: Namespace, caller: Caller) async throws -> Response {
        let ifVersion = try JSONResponses.ifMatchVersion(request)
        guard try await store.delete(key, in: namespace, ifVersion: ifVersion, author: caller.agent) else {
            throw HTTPFailure(notFound(key, namespace))
        }
        return JSONResponses.json(["deleted": true, "namespace": .string(namespace.name), "key": .string(key.rawValue)])
    }

    /// `GET /memory/{namespace}?limit=&cursor=&prefix=&all=`: keys as strings in byte order, and
    /// `next_cursor` when there are more.
    func list(_ target: RequestTarget, in namespace: Namespace) async throws -> Response {
        var limit = defaultListLimit
        if let text = target.query["limit"] {
            guard let value = Int(text), (1...10_000).contains(value) else {
                throw HTTPFailure(JSONResponses.error(.badRequest, "limit must be a whole number from 1 to 10000"))
            }
            limit = value
        }
        let cursor = target.query["cursor"].flatMap { $0.isEmpty ? nil : $0 }
        let prefix = target.query["prefix"].flatMap { $0.isEmpty ? nil : $0 }
        let page = try await store.list(in: namespace, prefix: prefix, cursor: cursor, limit: limit)
        // The library's own records (session transcripts under `_agent_memory/`) are hidden, as
        // `agent-memory list` hides them, unless `?all=true`.
        let all = target.query["all"] == "true"
        let keys = page.records.filter { all || !ReservedKeys.isReserved($0.key) }.map { JSONValue.string($0.key) }
        return JSONResponses.json([
            "namespace": .string(namespace.name), "count": .int(keys.count), "keys": .array(keys),
            "next_cursor": page.nextCursor.map(JSONValue.string) ?? .null,
        ])
    }

    /// A stored value as the string BotWire reads: a string as is, other JSON as its text.
    static func text(of value: JSONValue) -> String {
        if case .string(let text) = value { return text }
        return value.jsonString()
    }

    private func notFound(_ key: MemoryKey, _ namespace: Namespace) -> Response {
        JSONResponses.error(.notFound, "Key not found: \(namespace.name)/\(key.rawValue)")
    }

    private func missingValue() -> Response {
        JSONResponses.error(.unprocessableContent, "Field \"value\" is required and must be a string")
    }

    /// The body's `value`, which must be a string (422 otherwise).
    private func stringValue(of request: Request) async throws -> String {
        guard case .string(let value)? = try await jsonBody(of: request)["value"] else { throw HTTPFailure(missingValue()) }
        return value
    }

    /// The body as a JSON object: 413 when over the size limit, 422 when not a JSON object.
    private func jsonBody(of request: Request) async throws -> JSONObject {
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: maxBodyBytes)
        } catch is NIOTooManyBytesError {
            throw HTTPFailure(JSONResponses.error(.contentTooLarge, "Request body is larger than the limit of \(maxBodyBytes) bytes"))
        }
        guard let json = try? JSONValue(parsing: Array(buffer.readableBytesView)), let object = json.objectValue else {
            throw HTTPFailure(JSONResponses.error(.unprocessableContent, "The body must be a JSON object such as {\"value\": \"...\"}"))
        }
        return object
    }
}
