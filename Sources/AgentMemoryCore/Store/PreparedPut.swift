/// A write checked against the limits and serialized once, before a backend opens its
/// transaction: what the SQL stores bind.
package struct PreparedPut: Sendable {
    package let key: String
    /// The value's compact JSON text, as stored.
    package let json: String
    package let valueBytes: Int
    package let options: PutOptions
    package let value: JSONValue
}

extension MemoryLimits {
    /// Checks the key, the options and the value's size, and serializes the value once.
    package func prepare(key: String, value: JSONValue, options: PutOptions) throws -> PreparedPut {
        try validate(key: key)
        try options.validate()
        let json = value.jsonString()
        let bytes = json.utf8.count
        try validate(valueBytes: bytes, key: key)
        return PreparedPut(key: key, json: json, valueBytes: bytes, options: options, value: value)
    }
}
