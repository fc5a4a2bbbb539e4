import AgentMemory
import AgentMemoryCore
import AgentMemoryPostgres
import AgentMemorySQLite
import Foundation

/// Where memory is kept, as written in `--store` or `AGENT_MEMORY_STORE`.
///
/// - `sqlite:PATH` (or a path ending in `.sqlite` / `.db`): an SQLite file, created on first use.
/// - `memory:`: a store in this process only, gone when it exits.
/// - `postgres://USER[:PASSWORD]@HOST[:PORT]/DB[?sslmode=...]` (or `postgresql://`): a
///   PostgreSQL database shared by machines; see ``PostgresStoreURL``.
/// - nothing: the default SQLite file, `$AGENT_MEMORY_HOME/memory.sqlite` or
///   `~/.agent-memory/memory.sqlite`.
public enum StoreLocation: Sendable, Hashable, CustomStringConvertible {
    /// An SQLite file.
    case sqlite(path: String)
    /// A store in this process only.
    case inMemory
    /// A PostgreSQL database, as a `postgres://` URL (validated when parsed).
    case postgres(url: String)

    /// The default: the SQLite file under `$AGENT_MEMORY_HOME` or `~/.agent-memory/`.
    public static var `default`: StoreLocation { .sqlite(path: SQLiteMemoryStore.defaultPath) }

    /// Parses a location; throws ``MemoryError/Code/invalidLocation`` with the accepted forms.
    public init(parsing text: String) throws {
        let forms = "use sqlite:PATH (an SQLite file), postgres://USER[:PASSWORD]@HOST:PORT/DB (a PostgreSQL database) "
            + "or memory: (in this process only)"
        if text == "memory:" || text == "memory" {
            self = .inMemory
        } else if text.hasPrefix("sqlite:") {
            var path = String(text.dropFirst("sqlite:".count))
            if path.hasPrefix("//") { path.removeFirst(2) }
            guard !path.isEmpty else {
                throw MemoryError(.invalidLocation, "Invalid store \"\(text)\": sqlite: needs a file path, e.g. sqlite:./memory.sqlite")
            }
            self = .sqlite(path: (path as NSString).expandingTildeInPath)
        } else if text.hasPrefix("postgres://") || text.hasPrefix("postgresql://") {
            _ = try PostgresStoreURL(parsing: text)
            self = .postgres(url: text)
        } else if !text.contains(":") || text.hasPrefix("/") || text.hasPrefix(".") || text.hasPrefix("~") {
            guard !text.isEmpty else { throw MemoryError(.invalidLocation, "Invalid store \"\": \(forms)") }
            self = .sqlite(path: (text as NSString).expandingTildeInPath)
        } else {
            throw MemoryError(.invalidLocation, "Invalid store \"\(StoreLocation.redacted(text))\": unknown scheme; \(forms)")
        }
    }

    /// The default under the given environment: `$AGENT_MEMORY_HOME/memory.sqlite`, else
    /// `$HOME/.agent-memory/memory.sqlite`.
    public static func `default`(environment: [String: String]) -> StoreLocation {
        .sqlite(path: SQLiteMemoryStore.defaultPath(environment: environment))
    }

    /// The location from `AGENT_MEMORY_STORE`, else the default.
    public static func fromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment) throws -> StoreLocation {
        if let text = environment["AGENT_MEMORY_STORE"], !text.isEmpty {
            return try StoreLocation(parsing: text)
        }
        return .default(environment: environment)
    }

    /// Whether this is an SQLite file.
    public var isSQLite: Bool {
        if case .sqlite = self { return true }
        return false
    }

    /// The location as it would be written on the command line.
    public var description: String {
        switch self {
        case .sqlite(let path): return "sqlite:\(path)"
        case .inMemory: return "memory:"
        case .postgres(let url): return PostgresStoreURL.redact(url)
        }
    }

    /// Opens the store (creating an SQLite file and its directory if needed). `oneCommand`: the
    /// store serves one command and closes, so a PostgreSQL store sends each statement whole
    /// instead of preparing it first on its connection (`PostgresMemoryStore.preparesStatements`).
    public func open(
        limits: MemoryLimits = .default, synchronous: SQLiteMemoryStore.Synchronous = .full, oneCommand: Bool = false
    ) throws -> any MemoryStore {
        switch self {
        case .sqlite(let path):
            return try SQLiteMemoryStore(path: path, limits: limits, synchronous: synchronous)
        case .inMemory:
            return InMemoryMemoryStore(limits: limits)
        case .postgres(let url):
            // Connects on first use: an unreachable server fails that operation within 5 s.
            return try PostgresMemoryStore(url: url, limits: limits, preparesStatements: !oneCommand)
        }
    }

    /// The same location with any password removed, for messages.
    static func redacted(_ text: String) -> String {
        guard let scheme = text.range(of: "://"), let at = text.range(of: "@", range: scheme.upperBound..<text.endIndex) else {
            return text
        }
        let credentials = text[scheme.upperBound..<at.lowerBound]
        guard let colon = credentials.firstIndex(of: ":") else { return text }
        return String(text[..<colon]) + ":***" + String(text[at.lowerBound...])
    }
}
