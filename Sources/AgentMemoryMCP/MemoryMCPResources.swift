import AgentMemory
import MCP

/// Each memory of the served namespace as an MCP resource `memory://NAMESPACE/KEY`
/// (swift-sdk 0.12.1 `Sources/MCP/Server/Resources.swift`: `Resource`, `Resource.Template`,
/// `ListResources`, `ReadResource`). Reserved `_agent_memory/` keys never appear.
struct MemoryMCPResources: Sendable {
    /// The JSON-RPC error code the MCP specification gives "resource not found".
    static let resourceNotFoundCode = -32002

    let store: any MemoryStore
    let namespace: Namespace
    let pageSize: Int

    /// The one template: any key of the served namespace.
    var template: Resource.Template {
        Resource.Template(
            uriTemplate: MemoryResourceURI.template, name: "memory",
            title: "A memory",
            description: "The value stored under KEY in namespace NAMESPACE (this server serves \"\(namespace)\"), percent-encoded.",
            mimeType: nil)
    }

    /// One page of resources in byte order of their keys; the SDK's cursor is the store's.
    func list(cursor: String?) async throws -> ListResources.Result {
        var resources: [Resource] = []
        var cursor = cursor
        while true {
            let page: MemoryPage
            do {
                page = try await store.list(in: namespace, prefix: nil, cursor: cursor, limit: pageSize - resources.count)
            } catch let error as MemoryError where error.code == .invalidArgument {
                throw MCPError.invalidParams(error.message)
            }
            for record in page.records where !ReservedKeys.isReserved(record.key) {
                resources.append(resource(for: record))
            }
            guard let next = page.nextCursor else { return ListResources.Result(resources: resources, nextCursor: nil) }
            if resources.count == pageSize { return ListResources.Result(resources: resources, nextCursor: next) }
            // Reserved keys are one contiguous range in byte order: when the page ended inside
            // it, jump over the rest at once (never back over keys already listed).
            let endedInReserved = page.records.last.map { ReservedKeys.isReserved($0.key) } ?? false
            cursor = endedInReserved ? ListCursor.encode(afterKey: Self.endOfReservedRange) : next
        }
    }

    /// The contents of one memory: a string value as `text/plain`, any other as its JSON text.
    func read(_ uri: String) async throws -> ReadResource.Result {
        guard let parsed = MemoryResourceURI(parsing: uri) else {
            throw MCPError.invalidParams("Not a memory URI: \(uri). The form is \(MemoryResourceURI.template), percent-encoded.")
        }
        guard parsed.namespace == namespace else {
            throw MCPError.invalidParams("This server serves namespace \"\(namespace)\" only, not \"\(parsed.namespace)\".")
        }
        let key: MemoryKey
        do {
            key = try MemoryKey(parsed.key)
        } catch let error as MemoryError {
            throw MCPError.invalidParams(error.message)
        }
        guard !ReservedKeys.isReserved(parsed.key), let record = try await store.get(key, in: namespace) else {
            throw MCPError.serverError(code: Self.resourceNotFoundCode, message: "Resource not found: \(uri)")
        }
        let (text, mimeType) = Self.text(of: record)
        return ReadResource.Result(contents: [.text(text, uri: uri, mimeType: mimeType)])
    }

    func resource(for record: MemoryRecord) -> Resource {
        let (text, mimeType) = Self.text(of: record)
        return Resource(
            name: record.key,
            uri: MemoryResourceURI(namespace: namespace, key: record.key).description,
            description: "version \(record.version), updated \(MemoryRecord.formatDate(record.updatedAt))"
                + (record.author.map { " by \($0)" } ?? ""),
            mimeType: mimeType,
            size: text.utf8.count)
    }

    static func text(of record: MemoryRecord) -> (text: String, mimeType: String) {
        if case .string(let text) = record.value { return (text, "text/plain") }
        return (record.value.jsonString(), "application/json")
    }

    /// A key greater than every reserved key (keys are at most 512 bytes).
    private static let endOfReservedRange = ReservedKeys.prefix + String(repeating: "\u{10FFFF}", count: 130)
}
