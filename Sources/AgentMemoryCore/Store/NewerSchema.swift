/// A store's file or schema records migrations this binary does not know: a newer version of
/// AgentMemory migrated it, and this one could damage it by writing to it. Both stores refuse
/// it before changing anything.
package struct NewerSchema: Error, CustomStringConvertible {
    /// What was migrated: "the file", "the PostgreSQL schema".
    package let place: String
    /// What to do: open or use it with that version or a newer one.
    package let remedy: String
    /// The migrations recorded there and unknown here, sorted.
    package let unknown: [String]

    /// `unknown` is sorted here.
    package init(_ place: String, unknown: some Collection<String>, remedy: String) {
        self.place = place
        self.remedy = remedy
        self.unknown = unknown.sorted()
    }

    package var description: String {
        "\(place) was written by a newer version of AgentMemory (it records the migration"
            + (unknown.count == 1 ? " " : "s ") + unknown.map { "'\($0)'" }.joined(separator: ", ")
            + ", unknown to this version), which this version could damage by writing to it;"
            + " \(remedy)"
    }
}
