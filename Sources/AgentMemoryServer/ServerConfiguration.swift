import AgentMemory
import Foundation

/// How an ``AgentMemoryServer`` listens and what it allows: address, tokens, limits.
public struct ServerConfiguration: Sendable {
    /// The address to bind: a loopback address unless ``tokens`` is set.
    public var host: String
    /// The port to bind; `0` picks a free one (reported by ``AgentMemoryServer/run(handlingSignals:onListening:)``).
    public var port: Int
    /// The bearer tokens, or `nil` to run open (allowed on a loopback address only).
    public var tokens: TokenFile?
    /// The agent id recorded as the author of writes when the server runs open.
    public var openAgent: String?
    /// The largest request body, in bytes; larger ones are answered with 413.
    public var maxBodyBytes: Int
    /// Requests per second each token (or client address, when open) may make; `nil` for no limit.
    public var rateLimit: RateLimit?
    /// The most keys `GET /memory/{namespace}` returns when the request sets no `limit`.
    public var defaultListLimit: Int
    /// The namespace `/mcp` serves when the request names none with `?namespace=`.
    public var mcpNamespace: Namespace
    /// The memory tools `/mcp` offers (a read-only token sees only those that do not write).
    public var mcpTools: [MemoryToolKind]
    /// The most MCP sessions open at once; an `initialize` beyond it gets 503.
    public var mcpMaxSessions: Int
    /// How long an MCP session may stay idle (no request, no open event stream) before it ends.
    public var mcpIdleTimeout: Duration
    /// How often an open event stream (`/changes` watchers, MCP notifications) gets a comment
    /// line, so that a client that went away is noticed; `nil` for never.
    public var eventStreamPingInterval: Duration?

    /// Creates a configuration; every parameter but the host and port has a documented default.
    public init(
        host: String = "127.0.0.1", port: Int = 8080, tokens: TokenFile? = nil, openAgent: String? = nil,
        maxBodyBytes: Int = 2 * 1_048_576, rateLimit: RateLimit? = RateLimit(perSecond: 1000, burst: 2000),
        defaultListLimit: Int = 1000, mcpNamespace: Namespace = .default,
        mcpTools: [MemoryToolKind] = MemoryToolKind.defaultSet, mcpMaxSessions: Int = 100,
        mcpIdleTimeout: Duration = .seconds(600), eventStreamPingInterval: Duration? = .seconds(15)
    ) {
        self.host = host
        self.port = port
        self.tokens = tokens
        self.openAgent = openAgent
        self.maxBodyBytes = maxBodyBytes
        self.rateLimit = rateLimit
        self.defaultListLimit = defaultListLimit
        self.mcpNamespace = mcpNamespace
        self.mcpTools = mcpTools
        self.mcpMaxSessions = mcpMaxSessions
        self.mcpIdleTimeout = mcpIdleTimeout
        self.eventStreamPingInterval = eventStreamPingInterval
    }

    /// Throws ``ServerError`` when the server would run open on an address other hosts can reach.
    public func validate() throws {
        if tokens == nil && !Self.isLoopback(host) {
            throw ServerError(
                "refusing to serve on \(host) without --tokens: with no tokens file anyone who can reach this address "
                    + "could read and write every namespace; give --tokens FILE, or bind a loopback address (127.0.0.1, ::1)")
        }
        if maxBodyBytes < 1 { throw ServerError("the body size limit must be at least 1 byte") }
        if mcpTools.isEmpty || mcpTools.contains(.memory) {
            throw ServerError("the MCP tools must be some of remember, recall, list_memory, forget, search_memory")
        }
        if mcpMaxSessions < 1 { throw ServerError("the MCP session limit must be at least 1") }
        if mcpIdleTimeout <= .zero { throw ServerError("the MCP session idle timeout must be positive") }
        if let interval = eventStreamPingInterval, interval <= .zero { throw ServerError("the event stream ping interval must be positive") }
    }

    /// Whether `host` names this machine only: `localhost`, `::1` or an address in 127.0.0.0/8.
    public static func isLoopback(_ host: String) -> Bool {
        if host == "localhost" || host == "::1" || host == "[::1]" { return true }
        let parts = host.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4, parts[0] == "127" else { return false }
        return parts.allSatisfy { part in UInt8(part) != nil }
    }
}

/// A token-bucket rate: `perSecond` requests on average, up to `burst` at once.
public struct RateLimit: Sendable, Hashable {
    /// The sustained rate, in requests per second.
    public var perSecond: Double
    /// The most requests allowed at once after a quiet period.
    public var burst: Double

    /// Creates a rate; `burst` defaults to one second's worth.
    public init(perSecond: Double, burst: Double? = nil) {
        self.perSecond = perSecond
        self.burst = max(1, burst ?? perSecond)
    }
}

/// A server that cannot start (bad configuration or tokens file), with the reason.
public struct ServerError: Error, Sendable, CustomStringConvertible {
    /// What is wrong and how to fix it.
    public let message: String

    /// Creates an error with its message.
    public init(_ message: String) { self.message = message }

    /// The message.
    public var description: String { message }
}
