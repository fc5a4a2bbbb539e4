import AgentMemoryJSON
import Foundation

/// One operation of an atomic ``MemoryStore/apply(_:in:)``.
public enum MemoryOperation: Sendable, Hashable {
    /// Create or replace a key.
    case put(key: MemoryKey, value: JSONValue, options: PutOptions = .none)
    /// Delete a key (with an optional compare-and-set version and the author for the log).
    case delete(key: MemoryKey, ifVersion: Int? = nil, author: String? = nil)
    /// Append to a key's array or string (see ``AppendOptions``).
    case append(key: MemoryKey, value: JSONValue, options: AppendOptions = AppendOptions())

    /// The key the operation writes.
    public var key: MemoryKey {
        switch self {
        case .put(let key, _, _), .delete(let key, _, _), .append(let key, _, _): return key
        }
    }
}

/// The result of one operation of a batch, in the order of the operations.
public enum MemoryOperationResult: Sendable, Hashable {
    /// The record stored by a put or an append.
    case put(MemoryRecord)
    /// Whether a delete removed a record.
    case delete(Bool)
}
