/// Size limits a store enforces before it writes anything.
public struct MemoryLimits: Sendable, Hashable {
    /// The largest value, in bytes of its compact UTF-8 JSON text. Default 1 MiB.
    public var maxValueBytes: Int
    /// The longest key in UTF-8 bytes. Default 512 (keys are 1 to 512 bytes).
    public var maxKeyBytes: Int
    /// The most keys one namespace may hold, or `nil` for no quota.
    public var maxKeysPerNamespace: Int?
    /// The most bytes (keys plus values) one namespace may hold, or `nil` for no quota.
    public var maxBytesPerNamespace: Int?

    /// Creates limits; every parameter has the documented default.
    public init(
        maxValueBytes: Int = 1_048_576, maxKeyBytes: Int = 512,
        maxKeysPerNamespace: Int? = nil, maxBytesPerNamespace: Int? = nil
    ) {
        self.maxValueBytes = maxValueBytes
        self.maxKeyBytes = maxKeyBytes
        self.maxKeysPerNamespace = maxKeysPerNamespace
        self.maxBytesPerNamespace = maxBytesPerNamespace
    }

    /// The defaults: 1 MiB values, 512-byte keys, no quotas.
    public static let `default` = MemoryLimits()

    /// Throws ``MemoryError/Code/valueTooLarge`` when a value of `bytes` bytes is over the limit.
    public func validate(valueBytes bytes: Int, key: String) throws {
        if bytes > maxValueBytes {
            throw MemoryError(
                .valueTooLarge,
                "Value for key \"\(key.truncatedForMessage)\" is \(bytes) bytes of JSON, the limit is \(maxValueBytes) bytes")
        }
    }

    /// Throws ``MemoryError/Code/quotaExceeded`` when a namespace would hold more keys or bytes
    /// than its quota after a write.
    public func validateQuota(namespace: Namespace, keysAfter: Int, bytesAfter: Int) throws {
        if let maxKeys = maxKeysPerNamespace, keysAfter > maxKeys {
            throw MemoryError(
                .quotaExceeded,
                "Namespace \"\(namespace)\" would hold \(keysAfter) keys, the limit is \(maxKeys) keys")
        }
        if let maxBytes = maxBytesPerNamespace, bytesAfter > maxBytes {
            throw MemoryError(
                .quotaExceeded,
                "Namespace \"\(namespace)\" would hold \(bytesAfter) bytes, the limit is \(maxBytes) bytes")
        }
    }

    /// Whether a namespace quota is configured (stores skip the accounting work when not).
    public var hasQuota: Bool { maxKeysPerNamespace != nil || maxBytesPerNamespace != nil }
}

extension String {
    /// The key shortened for an error message (first 64 characters and an ellipsis).
    package var truncatedForMessage: String {
        count > 64 ? String(prefix(64)) + "…" : self
    }

    package func leftPadded(to width: Int, with pad: Character = "0") -> String {
        count >= width ? self : String(repeating: pad, count: width - count) + self
    }
}
