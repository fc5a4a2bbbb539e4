/// A JSON object that remembers the order of its keys.
///
/// Equality and hashing ignore the order (two objects with the same members are equal); the
/// order only matters when the object is written back as JSON.
public struct JSONObject: Sendable, Hashable {
    // The members in order. Most objects (a content block, a tool input) have a handful of
    // members, where a linear search beats hashing; past `indexedCount` members a dictionary
    // from key to position is kept as well.
    private var entries: [(key: String, value: JSONValue)]
    private var positions: [String: Int]?
    private static let indexedCount = 12

    /// An empty object.
    public init() {
        entries = []
        positions = nil
    }

    /// An object with the given members, in the given order (a repeated key keeps its last value).
    public init(_ members: [(String, JSONValue)]) {
        // A few distinct keys (a content block, a tool result): taken as they are, where adding
        // them one by one searched the members so far for each (a tenth of the results' cost
        // in an `exec` of 2,000 recalls, BENCHMARKS.md, round twenty-nine).
        if members.count <= Self.indexedCount, Self.distinct(members) {
            self.init(distinct: members.map { (key: $0.0, value: $0.1) })
            return
        }
        self.init()
        entries.reserveCapacity(members.count)
        for (key, value) in members { self[key] = value }
    }

    /// Makes room for `count` members, so that adding up to that many does not reallocate.
    public mutating func reserveCapacity(_ count: Int) {
        entries.reserveCapacity(count)
    }

    /// The keys, in order.
    public var keys: [String] { entries.map(\.key) }

    /// The number of members.
    public var count: Int { entries.count }

    /// Whether the object has no members.
    public var isEmpty: Bool { entries.isEmpty }

    private func position(of key: String) -> Int? {
        if let positions { return positions[key] }
        return entries.firstIndex { $0.key == key }
    }

    /// The value for `key`; setting `nil` removes the member, setting a new key appends it.
    public subscript(key: String) -> JSONValue? {
        get { position(of: key).map { entries[$0].value } }
        set {
            if let position = position(of: key) {
                if let newValue {
                    entries[position].value = newValue
                } else {
                    entries.remove(at: position)
                    positions = entries.count > Self.indexedCount ? Self.index(entries) : nil
                }
            } else if let newValue {
                entries.append((key, newValue))
                if positions != nil {
                    positions?[key] = entries.count - 1
                } else if entries.count > Self.indexedCount {
                    positions = Self.index(entries)
                }
            }
        }
    }

    /// An object of `entries`, whose keys are distinct and at most ``indexedCount``.
    private init(distinct entries: [(key: String, value: JSONValue)]) {
        self.entries = entries
        positions = nil
    }

    /// Whether no two of `members` share a key.
    private static func distinct(_ members: [(String, JSONValue)]) -> Bool {
        for later in members.indices.dropFirst() {
            for earlier in 0..<later where members[earlier].0 == members[later].0 { return false }
        }
        return true
    }

    private static func index(_ entries: [(key: String, value: JSONValue)]) -> [String: Int] {
        var positions: [String: Int] = [:]
        positions.reserveCapacity(entries.count)
        for (position, entry) in entries.enumerated() { positions[entry.key] = position }
        return positions
    }

    /// The members, in order.
    public var members: [(key: String, value: JSONValue)] { entries }

    /// Two objects are equal when they have the same members, whatever their order.
    public static func == (lhs: JSONObject, rhs: JSONObject) -> Bool {
        guard lhs.entries.count == rhs.entries.count else { return false }
        for (key, value) in lhs.entries where rhs[key] != value { return false }
        return true
    }

    /// Hashes the members, ignoring order.
    public func hash(into hasher: inout Hasher) {
        var combined = 0
        for (key, value) in entries {
            var member = Hasher()
            member.combine(key)
            member.combine(value)
            combined ^= member.finalize()
        }
        hasher.combine(entries.count)
        hasher.combine(combined)
    }
}

extension JSONObject: Sequence {
    /// Iterates the members in order.
    public func makeIterator() -> IndexingIterator<[(key: String, value: JSONValue)]> {
        members.makeIterator()
    }
}

extension JSONObject: ExpressibleByDictionaryLiteral {
    /// Creates an object whose keys keep the literal's order.
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        self.init(elements)
    }
}

extension JSONObject: Codable {
    private struct AnyKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    /// Decodes an object from a keyed container.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: AnyKey.self)
        self.init()
        for key in container.allKeys {
            self[key.stringValue] = try container.decode(JSONValue.self, forKey: key)
        }
    }

    /// Encodes the members in order.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: AnyKey.self)
        for (key, value) in members {
            try container.encode(value, forKey: AnyKey(stringValue: key))
        }
    }
}
