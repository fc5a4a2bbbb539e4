import Foundation

/// How a ``ClaudeClient`` reaches the Messages API.
///
/// The API key is never part of a description, a debug description or a mirror, so printing
/// or dumping a configuration does not leak it.
public struct ClaudeConfiguration: Sendable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// The API key sent as `x-api-key`; a call without one fails before any request.
    public var apiKey: String?
    /// The API's base URL; requests go to `{baseURL}/v1/messages`.
    public var baseURL: URL
    /// The `anthropic-version` header.
    public var anthropicVersion: String
    /// Beta features, sent comma-separated as `anthropic-beta` when not empty.
    public var betas: [String]
    /// How many times a failed request is retried (0 disables retries).
    public var maxRetries: Int
    /// How long a request may wait without receiving anything.
    public var timeout: Duration
    /// Further headers sent with every request.
    public var additionalHeaders: TransportHeaders

    /// The public API: `https://api.anthropic.com`.
    public static let defaultBaseURL = URL(string: "https://api.anthropic.com")!

    /// Creates a configuration; every parameter but the key has the documented default.
    public init(
        apiKey: String?, baseURL: URL = ClaudeConfiguration.defaultBaseURL, anthropicVersion: String = "2023-06-01",
        betas: [String] = [], maxRetries: Int = 2, timeout: Duration = .seconds(600),
        additionalHeaders: TransportHeaders = TransportHeaders()
    ) {
        self.apiKey = apiKey
        self.baseURL = baseURL
        self.anthropicVersion = anthropicVersion
        self.betas = betas
        self.maxRetries = maxRetries
        self.timeout = timeout
        self.additionalHeaders = additionalHeaders
    }

    /// A configuration from `ANTHROPIC_API_KEY` and `ANTHROPIC_BASE_URL` (empty values count
    /// as unset); throws ``ClaudeAPIError/Kind/invalidConfiguration`` for a base URL that is not
    /// an http(s) URL.
    public static func fromEnvironment(
        _ environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws -> ClaudeConfiguration {
        let key = environment["ANTHROPIC_API_KEY"].flatMap { $0.isEmpty ? nil : $0 }
        var configuration = ClaudeConfiguration(apiKey: key)
        if let base = environment["ANTHROPIC_BASE_URL"], !base.isEmpty {
            guard let url = URL(string: base), let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https",
                  url.host != nil
            else {
                throw ClaudeAPIError(.invalidConfiguration, "ANTHROPIC_BASE_URL is not an http(s) URL: \(base)")
            }
            configuration.baseURL = url
        }
        return configuration
    }

    /// The URL of `POST /v1/messages` under ``baseURL``.
    public var messagesURL: URL {
        var base = baseURL.absoluteString
        while base.hasSuffix("/") { base.removeLast() }
        return URL(string: base + "/v1/messages")!
    }

    /// The URL of `POST /v1/messages/count_tokens` under ``baseURL`` (the path of
    /// `resources/messages/messages.py` `count_tokens` in the `anthropic` 2.14.0 Python package).
    public var countTokensURL: URL {
        URL(string: messagesURL.absoluteString + "/count_tokens")!
    }

    /// The settings, with the key shown only as set or not set.
    public var description: String {
        "ClaudeConfiguration(apiKey: \(apiKey == nil ? "not set" : "set (redacted)"), baseURL: \(baseURL.absoluteString), "
            + "anthropicVersion: \(anthropicVersion), betas: \(betas), maxRetries: \(maxRetries), timeout: \(timeout))"
    }

    /// Same as ``description``.
    public var debugDescription: String { description }

    /// A mirror without the key, so `dump` does not print it.
    public var customMirror: Mirror {
        Mirror(self, children: [
            "apiKey": apiKey == nil ? "not set" : "set (redacted)",
            "baseURL": baseURL.absoluteString, "anthropicVersion": anthropicVersion, "betas": betas,
            "maxRetries": maxRetries, "timeout": timeout,
        ])
    }
}
