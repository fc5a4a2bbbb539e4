import AgentMemory
import Foundation

/// The bearer tokens a server accepts, read from a JSON file:
/// `{"tokens": [{"token": "...", "namespaces": ["team", "agent-*"], "access": "read-write", "agent": "planner"}]}`.
///
/// `access` is `read-write` or `read-only`; a namespace pattern ending in `*` matches every
/// namespace starting with what comes before it (`*` alone matches all); `agent` (optional) is
/// recorded as the author of the token's writes. An unknown field or a malformed entry is an
/// error naming the entry, so a server never starts with a file it half understood.
public struct TokenFile: Sendable {
    /// The tokens, in file order.
    public let tokens: [AccessToken]

    /// Creates a token set; two entries with the same token are an error.
    public init(tokens: [AccessToken]) throws {
        var seen = Set<String>()
        for (index, token) in tokens.enumerated() where !seen.insert(token.secret).inserted {
            throw ServerError("tokens file: entry \(index + 1) repeats the token of an earlier entry")
        }
        self.tokens = tokens
    }

    /// Reads and checks a tokens file; throws ``ServerError`` naming the entry and field at fault.
    public init(contentsOf path: String) throws {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ServerError("tokens file \(path) cannot be read")
        }
        try self.init(parsing: data, source: path)
    }

    /// Parses a tokens file's JSON text; `source` names it in error messages.
    public init(parsing data: Data, source: String = "tokens file") throws {
        let json: JSONValue
        do {
            json = try JSONValue(parsing: data)
        } catch {
            throw ServerError("\(source): not valid JSON (\(error))")
        }
        guard let root = json.objectValue else { throw ServerError("\(source): must be a JSON object with a \"tokens\" array") }
        if let unknown = root.keys.first(where: { $0 != "tokens" }) {
            throw ServerError("\(source): unknown field \"\(unknown)\" at the top level (only \"tokens\" is allowed)")
        }
        guard let entries = root["tokens"]?.arrayValue else { throw ServerError("\(source): \"tokens\" must be an array") }
        var tokens: [AccessToken] = []
        for (index, entry) in entries.enumerated() {
            do {
                tokens.append(try AccessToken(entry: entry))
            } catch let error as ServerError {
                throw ServerError("\(source): entry \(index + 1): \(error.message)")
            }
        }
        do {
            try self.init(tokens: tokens)
        } catch let error as ServerError {
            throw ServerError("\(source): " + error.message.replacingOccurrences(of: "tokens file: ", with: ""))
        }
    }

    /// The token whose secret equals `presented`, compared in constant time against every
    /// entry (the time taken does not depend on which entry, if any, matched, nor where they differ).
    public func match(_ presented: String) -> AccessToken? {
        var found: AccessToken?
        for token in tokens where ConstantTime.equal(token.secret, presented) {
            found = token
        }
        return found
    }
}

/// One entry of a tokens file: a secret, the namespaces it may use, its access and its agent id.
public struct AccessToken: Sendable {
    /// The bearer token itself; never logged.
    public let secret: String
    /// Namespace names, or prefixes when ending in `*`.
    public let namespaces: [String]
    /// Whether the token may write.
    public let canWrite: Bool
    /// The author recorded for the token's writes.
    public let agent: String?

    /// Creates a token; `namespaces` patterns are checked as in a tokens file.
    public init(secret: String, namespaces: [String], canWrite: Bool, agent: String? = nil) throws {
        guard !secret.isEmpty else { throw ServerError("\"token\" must not be empty") }
        guard !namespaces.isEmpty else { throw ServerError("\"namespaces\" must list at least one namespace or pattern") }
        for pattern in namespaces {
            let name = pattern.hasSuffix("*") ? String(pattern.dropLast()) : pattern
            if name.contains("*") {
                throw ServerError("namespace pattern \"\(pattern)\": \"*\" is allowed only at the end")
            }
            if !pattern.hasSuffix("*"), let problem = Namespace.problem(with: name) {
                throw ServerError(problem)
            }
        }
        self.secret = secret
        self.namespaces = namespaces
        self.canWrite = canWrite
        self.agent = agent
    }

    /// Reads one entry of the `tokens` array.
    init(entry: JSONValue) throws {
        guard let object = entry.objectValue else { throw ServerError("must be an object") }
        let allowed: Set<String> = ["token", "namespaces", "access", "agent"]
        if let unknown = object.keys.first(where: { !allowed.contains($0) }) {
            throw ServerError("unknown field \"\(unknown)\" (allowed: token, namespaces, access, agent)")
        }
        guard let secret = object["token"]?.stringValue else { throw ServerError("\"token\" must be a string") }
        guard let list = object["namespaces"]?.arrayValue else { throw ServerError("\"namespaces\" must be an array of strings") }
        let namespaces = try list.map { item in
            guard let name = item.stringValue else { throw ServerError("\"namespaces\" must be an array of strings") }
            return name
        }
        let canWrite: Bool
        switch object["access"]?.stringValue {
        case "read-write": canWrite = true
        case "read-only": canWrite = false
        default: throw ServerError("\"access\" must be \"read-write\" or \"read-only\"")
        }
        var agent: String?
        if let value = object["agent"], !value.isNull {
            guard let text = value.stringValue, !text.isEmpty else { throw ServerError("\"agent\" must be a non-empty string") }
            agent = text
        }
        try self.init(secret: secret, namespaces: namespaces, canWrite: canWrite, agent: agent)
    }

    /// Whether the token may use `namespace`.
    public func allows(_ namespace: Namespace) -> Bool {
        namespaces.contains { pattern in
            pattern.hasSuffix("*") ? namespace.name.hasPrefix(pattern.dropLast()) : namespace.name == pattern
        }
    }
}

/// Comparison whose running time depends only on the lengths compared, not on the contents.
enum ConstantTime {
    /// Whether `a` and `b` have the same UTF-8 bytes.
    static func equal(_ a: String, _ b: String) -> Bool {
        let left = Array(a.utf8), right = Array(b.utf8)
        var difference = UInt64(left.count ^ right.count)
        let length = max(left.count, right.count)
        for index in 0..<length {
            let x = index < left.count ? left[index] : 0
            let y = index < right.count ? right[index] : 0
            difference |= UInt64(x ^ y)
        }
        return difference == 0
    }
}
