import AgentMemoryCore
import PostgresNIO

/// A PostgreSQL store location: `postgres://USER[:PASSWORD]@HOST[:PORT]/DB[?sslmode=...]`.
///
/// `postgresql://` is accepted too; the user and password are percent-decoded. Query
/// parameters: `sslmode` (`disable`, `prefer` (the default, as in libpq), `require`,
/// `verify-ca`, `verify-full`) and `schema` (the PostgreSQL schema that holds the tables,
/// default `public`). The password never appears in ``description`` or in error messages.
public struct PostgresStoreURL: Sendable, Hashable, CustomStringConvertible {
    /// How the connection uses TLS, named as libpq's `sslmode`.
    public enum TLSMode: String, Sendable, Hashable, CaseIterable {
        /// Plain TCP only.
        case disable
        /// TLS when the server offers it, without checking its certificate; else plain TCP.
        case prefer
        /// TLS or no connection; the certificate is not checked.
        case require
        /// TLS, and the certificate must chain to a trusted root (any host name).
        case verifyCA = "verify-ca"
        /// TLS, a trusted certificate, and the host name must match it.
        case verifyFull = "verify-full"
    }

    /// The user name (percent-decoded).
    public var user: String
    /// The password (percent-decoded), if any; never printed.
    public var password: String?
    /// The host name or IP address (without IPv6 brackets).
    public var host: String
    /// The TCP port (default 5432).
    public var port: Int
    /// The database name.
    public var database: String
    /// The TLS mode from `sslmode`.
    public var tls: TLSMode
    /// The schema holding the store's tables (from `schema`, default `public`).
    public var schema: String

    /// The accepted form, quoted in every parse error.
    public static let acceptedForm =
        "postgres://USER[:PASSWORD]@HOST[:PORT]/DB[?sslmode=disable|prefer|require|verify-ca|verify-full]"

    /// Creates a location from its parts.
    public init(
        user: String, password: String? = nil, host: String, port: Int = 5432, database: String,
        tls: TLSMode = .prefer, schema: String = "public"
    ) {
        self.user = user
        self.password = password
        self.host = host
        self.port = port
        self.database = database
        self.tls = tls
        self.schema = schema
    }

    /// Parses a URL; throws ``MemoryError/Code/invalidLocation`` saying what is wrong and the
    /// accepted form, with any password redacted.
    public init(parsing text: String) throws {
        func invalid(_ reason: String) -> MemoryError {
            MemoryError(
                .invalidLocation,
                "Invalid PostgreSQL store \"\(PostgresStoreURL.redact(text))\": \(reason); use \(PostgresStoreURL.acceptedForm)")
        }
        let rest: Substring
        if text.hasPrefix("postgres://") {
            rest = text.dropFirst("postgres://".count)
        } else if text.hasPrefix("postgresql://") {
            rest = text.dropFirst("postgresql://".count)
        } else {
            throw invalid("the scheme must be postgres:// or postgresql://")
        }
        // Authority ends at the first "/" after the last "@" (a password may contain "/" only
        // percent-encoded, as in libpq).
        guard let slash = rest.firstIndex(of: "/") else { throw invalid("the database name is missing") }
        let authority = rest[..<slash]
        let pathAndQuery = rest[rest.index(after: slash)...]
        guard let at = authority.lastIndex(of: "@") else { throw invalid("the user name is missing") }
        let credentials = authority[..<at]
        let hostPort = authority[authority.index(after: at)...]

        let rawUser: Substring
        var rawPassword: Substring?
        if let colon = credentials.firstIndex(of: ":") {
            rawUser = credentials[..<colon]
            rawPassword = credentials[credentials.index(after: colon)...]
        } else {
            rawUser = credentials
        }
        guard let user = PercentCoding.decoded(rawUser), !user.isEmpty else {
            throw invalid(rawUser.isEmpty ? "the user name is missing" : "the user name is not valid percent-encoding")
        }
        let password = try rawPassword.map { raw -> String in
            guard let decoded = PercentCoding.decoded(raw) else {
                throw invalid("the password is not valid percent-encoding")
            }
            return decoded
        }

        var host: String
        var portText: Substring?
        if hostPort.hasPrefix("[") {
            guard let close = hostPort.firstIndex(of: "]") else { throw invalid("an IPv6 host needs a closing ]") }
            host = String(hostPort[hostPort.index(after: hostPort.startIndex)..<close])
            let after = hostPort[hostPort.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { throw invalid("unexpected text after the IPv6 host") }
                portText = after.dropFirst()
            }
        } else if let colon = hostPort.firstIndex(of: ":") {
            host = String(hostPort[..<colon])
            portText = hostPort[hostPort.index(after: colon)...]
        } else {
            host = String(hostPort)
        }
        guard !host.isEmpty else { throw invalid("the host is missing") }
        guard !host.contains(where: { $0.isWhitespace || $0 == "/" || $0 == "?" || $0 == "#" }) else {
            throw invalid("the host \"\(host)\" is not valid")
        }
        var port = 5432
        if let portText {
            guard let parsed = Int(portText), (1...65_535).contains(parsed) else {
                throw invalid("the port \"\(portText)\" is not a number from 1 to 65535")
            }
            port = parsed
        }

        let databasePart: Substring
        var query: Substring = ""
        if let question = pathAndQuery.firstIndex(of: "?") {
            databasePart = pathAndQuery[..<question]
            query = pathAndQuery[pathAndQuery.index(after: question)...]
        } else {
            databasePart = pathAndQuery
        }
        guard let database = PercentCoding.decoded(databasePart), !database.isEmpty, !database.contains("/") else {
            throw invalid("the database name is missing or not valid")
        }

        var tls = TLSMode.prefer
        var schema = "public"
        for parameter in query.split(separator: "&", omittingEmptySubsequences: true) {
            let parts = parameter.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = String(parts[0])
            let value = parts.count > 1 ? (PercentCoding.decoded(parts[1]) ?? "") : ""
            switch name {
            case "sslmode":
                guard let mode = TLSMode(rawValue: value) else {
                    throw invalid("sslmode must be one of \(TLSMode.allCases.map(\.rawValue).joined(separator: ", ")), got \"\(value)\"")
                }
                tls = mode
            case "schema":
                guard Self.isValidSchema(value) else {
                    throw invalid("schema must be 1 to 40 lower-case letters, digits or _ (not starting with a digit), got \"\(value)\"")
                }
                schema = value
            default:
                throw invalid("unknown parameter \"\(name)\" (known: sslmode, schema)")
            }
        }
        self.init(user: user, password: password, host: host, port: port, database: database, tls: tls, schema: schema)
    }

    /// The URL with the password replaced by `***`.
    public var description: String {
        let credentials = Self.encode(user) + (password == nil ? "" : ":***")
        let hostText = host.contains(":") ? "[\(host)]" : host
        var parameters: [String] = []
        if tls != .prefer { parameters.append("sslmode=\(tls.rawValue)") }
        if schema != "public" { parameters.append("schema=\(schema)") }
        let query = parameters.isEmpty ? "" : "?" + parameters.joined(separator: "&")
        return "postgres://\(credentials)@\(hostText):\(port)/\(Self.encode(database))\(query)"
    }

    /// `host:port`, as error messages name the server.
    public var endpoint: String {
        (host.contains(":") ? "[\(host)]" : host) + ":\(port)"
    }

    /// Whether `name` is an acceptable schema name (also a safe SQL identifier without quotes).
    static func isValidSchema(_ name: String) -> Bool {
        guard (1...40).contains(name.utf8.count), let first = name.utf8.first, !(UInt8(ascii: "0")...UInt8(ascii: "9")).contains(first)
        else { return false }
        return name.utf8.allSatisfy { byte in
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
                || byte == UInt8(ascii: "_")
        }
    }

    /// `text` with anything between `://USER:` and `@` replaced by `***`.
    public static func redact(_ text: String) -> String {
        guard let scheme = text.firstRange(of: "://") else { return text }
        let afterScheme = text[scheme.upperBound...]
        let authorityEnd = afterScheme.firstIndex(of: "/") ?? text.endIndex
        guard let at = text[scheme.upperBound..<authorityEnd].lastIndex(of: "@"),
              let colon = text[scheme.upperBound..<at].firstIndex(of: ":")
        else { return text }
        return String(text[...colon]) + "***" + String(text[at...])
    }

    private static func encode(_ text: String) -> String {
        PercentCoding.encoded(text)
    }

    // MARK: - PostgresNIO configurations

    /// The TLS settings for a single connection (LISTEN, migrations).
    func connectionTLS() throws -> PostgresConnection.Configuration.TLS {
        guard let configuration = tlsConfiguration() else { return .disable }
        let context = try NIOSSLContext(configuration: configuration)
        return tls == .prefer ? .prefer(context) : .require(context)
    }

    /// The TLS settings for the pool.
    func clientTLS() -> PostgresClient.Configuration.TLS {
        guard let configuration = tlsConfiguration() else { return .disable }
        return tls == .prefer ? .prefer(configuration) : .require(configuration)
    }

    private func tlsConfiguration() -> TLSConfiguration? {
        var configuration = TLSConfiguration.makeClientConfiguration()
        switch tls {
        case .disable: return nil
        case .prefer, .require: configuration.certificateVerification = .none
        case .verifyCA: configuration.certificateVerification = .noHostnameVerification
        case .verifyFull: configuration.certificateVerification = .fullVerification
        }
        return configuration
    }
}
