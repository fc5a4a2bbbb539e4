/// A failed Messages API call: an HTTP error from the API, a connection failure, a timeout,
/// a response that is not what the API sends, or a cut stream.
///
/// It never contains the API key.
public struct ClaudeAPIError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What kind of failure: an open set, so new kinds do not break callers.
    public struct Kind: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
        /// A stable name.
        public let rawValue: String
        /// Creates a kind from its name.
        public init(rawValue: String) { self.rawValue = rawValue }
        /// The name.
        public var description: String { rawValue }

        /// No API key was configured; no request was sent.
        public static let missingAPIKey = Kind(rawValue: "missing_api_key")
        /// The configuration is unusable (for example a bad base URL).
        public static let invalidConfiguration = Kind(rawValue: "invalid_configuration")
        /// The API answered with an HTTP error status, or sent an `error` event in a stream.
        public static let api = Kind(rawValue: "api_error")
        /// The connection failed or was cut before a response.
        public static let connection = Kind(rawValue: "connection_error")
        /// No data arrived within the timeout.
        public static let timeout = Kind(rawValue: "timeout")
        /// The response body is not the JSON (or event stream) the API sends.
        public static let invalidResponse = Kind(rawValue: "invalid_response")
        /// A stream ended or failed before `message_stop`.
        public static let streamInterrupted = Kind(rawValue: "stream_interrupted")
    }

    /// What kind of failure.
    public var kind: Kind
    /// The HTTP status, when a response arrived.
    public var status: Int?
    /// The API's error type, such as `overloaded_error` or `invalid_request_error`.
    public var errorType: String?
    /// What went wrong: the API's message, or a description of the failure.
    public var message: String
    /// The `request-id` response header (or the body's `request_id`), for support requests.
    public var requestID: String?

    /// Creates an error.
    public init(_ kind: Kind, status: Int? = nil, errorType: String? = nil, _ message: String, requestID: String? = nil) {
        self.kind = kind
        self.status = status
        self.errorType = errorType
        self.message = message
        self.requestID = requestID
    }

    /// For example `Claude API error 400 invalid_request_error: max_tokens: ... (request-id req_1)`.
    public var description: String {
        var text: String
        switch kind {
        case .api: text = "Claude API error"
        case .missingAPIKey, .invalidConfiguration: text = "Claude client configuration error"
        case .connection: text = "Claude API connection error"
        case .timeout: text = "Claude API timeout"
        case .streamInterrupted: text = "Claude API stream interrupted"
        default: text = "Claude API invalid response"
        }
        if let status { text += " \(status)" }
        if let errorType { text += " \(errorType)" }
        text += ": \(message)"
        if let requestID { text += " (request-id \(requestID))" }
        return text
    }
}
