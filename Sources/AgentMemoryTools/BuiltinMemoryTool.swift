import AgentMemoryJSON
import AgentMemoryCore
import ClaudeMessages
import Foundation

/// Claude's built-in memory tool (`{"type": "memory_20250818", "name": "memory"}`), backed by
/// one namespace of a ``MemoryStore`` instead of a local directory.
///
/// Claude sends `tool_use` blocks named `memory` whose input has a `command` (`view`,
/// `create`, `str_replace`, `insert`, `delete`, `rename`) working on a directory tree under
/// `/memories`. ``run(_:)`` answers each with the result text of the reference implementation
/// (the Anthropic SDKs' local-filesystem memory tool), to the character, because Claude was
/// trained on those strings.
///
/// ## How files map to records
///
/// - A **file** is one record whose key is its normalized path and whose value is its text as
///   a JSON string: `/memories/notes/todo.txt` → `"- buy milk\n"`. So `recall` and
///   `list_memory` (and `remember`) see and write the same data under the same keys. A record
///   under `/memories/` whose value is not a string reads as its JSON text.
/// - A **directory** is the key prefix `path/`. It exists while any key starts with it, and
///   it also has a marker record whose key is the path with a trailing `/`
///   (`/memories/notes/`) and whose value is `{}`. The marker is written for every missing
///   parent when a file is created or renamed, and for the parents of a deleted or renamed
///   path, so a directory is kept when emptied, as on a filesystem. The value is `{}` rather
///   than `null` because several APIs read `null` as "no value"; the trailing `/` (which no
///   normalized file path has) is what marks a directory. `/memories` itself always exists
///   and has no marker.
/// - Paths are normalized before they become keys (`.`, `..` inside the tree and repeated `/`
///   resolved), so `/memories/a/../b.txt` and `/memories/b.txt` are one key. Listings skip
///   keys that are not normalized paths, and keys outside `/memories/` are never visible.
///
/// ## Consistency
///
/// Every write carries the bound author. `create` never overwrites (compare-and-set on
/// version 0); `str_replace` and `insert` write only over the version they read. A command
/// that changes several records (`delete` or `rename` of a directory, `rename` of a file,
/// `create` with new parents) is one atomic ``MemoryStore/batch(_:in:)`` with a compare-and-set
/// on every record it read: when another agent writes one of them meanwhile, the batch fails
/// as a whole, and the command re-reads and tries again (a few times), so no write is lost
/// and a failed command changes nothing. Renamed records start again at version 1 and keep
/// their remaining time to live.
///
/// ## Where it differs from the reference
///
/// The reference crashes or leaves partial files on some inputs; this tool answers them with
/// a clear `is_error` result and changes nothing: an unknown command, a missing or mistyped
/// field, an empty `old_str`, a `view_range` that is not two integers or ends below -1, a value
/// over the store's limits, a path with control characters, backslashes, percent-encoded `..`,
/// a sibling such as `/memoriesX` or a length over 511 bytes, a parent that is a file, and a
/// directory renamed into itself. The lines listed for multiple `str_replace` matches are
/// those of non-overlapping matches (the count the reference also uses). With
/// `readOnly`, every command but `view` is refused.
public struct BuiltinMemoryTool: Sendable {
    /// The tool's name in requests and `tool_use` blocks: `memory`.
    public static let name = "memory"
    /// The built-in tool type: `memory_20250818`.
    public static let type = "memory_20250818"
    /// The declaration for a request's `tools`: `{"type": "memory_20250818", "name": "memory"}`.
    public static let definition = ToolDefinition(type: type, name: name)

    /// The value of a directory's marker record: an empty object.
    public static let directoryMarkerValue: JSONValue = .object(JSONObject())

    /// How many times a command re-reads and retries after a concurrent write.
    static let maxAttempts = 5

    let store: any MemoryStore
    let namespace: Namespace
    private let author: String?
    private let readOnly: Bool
    private let clock: @Sendable () -> Date

    /// Binds the tool to a namespace of `store` and the agent id recorded on every write;
    /// with `readOnly`, only `view` is allowed. `clock` is the time a rename measures a moved
    /// file's remaining time to live from.
    public init(
        store: any MemoryStore, namespace: Namespace, author: String?, readOnly: Bool = false,
        clock: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.store = store
        self.namespace = namespace
        self.author = author
        self.readOnly = readOnly
        self.clock = clock
    }

    /// Runs one call's input and returns the `tool_result` text and whether it is an error.
    /// Never throws: invalid input and store failures are error results.
    public func run(_ input: JSONValue) async -> (text: String, isError: Bool) {
        do {
            return (try await perform(input), false)
        } catch let failure as MemoryToolFailure {
            return (failure.message, true)
        } catch let error as MemoryError {
            return (error.message, true)
        } catch {
            return ("The memory store failed: \(error)", true)
        }
    }

    private func perform(_ json: JSONValue) async throws -> String {
        let input = try MemoryCommandInput(json)
        guard MemoryCommandInput.commands.contains(input.command) else { throw input.unknownCommand }
        if input.command == "view" { return try await view(input) }
        if readOnly {
            throw MemoryToolFailure(
                "Cannot \(input.command): this agent has read-only access to memory; only the view command is allowed")
        }
        switch input.command {
        case "create": return try await create(input)
        case "str_replace": return try await strReplace(input)
        case "insert": return try await insert(input)
        case "delete": return try await delete(input)
        default: return try await rename(input)
        }
    }

    // MARK: - Commands

    private func view(_ input: MemoryCommandInput) async throws -> String {
        let raw = try input.string("path")
        let path = try MemoryPath.parse(raw)
        let range = try input.viewRange()
        switch try await entry(at: path) {
        case .missing:
            throw MemoryToolFailure("The path \(raw) does not exist. Please provide a valid path.")
        case .directory:
            return try await listDirectory(path, as: raw)
        case .file(let record):
            let lines = MemoryFileText.lines(Self.text(of: record))
            if lines.count > MemoryFileText.maxLines {
                throw MemoryToolFailure("File \(raw) exceeds maximum line limit of 999,999 lines.")
            }
            var shown = lines[...]
            var first = 1
            if let range {
                let start = max(1, range.start) - 1
                let end = range.end == -1 ? lines.count : min(range.end, lines.count)
                shown = start < end ? lines[start..<end] : []
                first = start + 1
            }
            return "Here's the content of \(raw) with line numbers:\n" + MemoryFileText.numbered(shown, from: first)
        }
    }

    private func create(_ input: MemoryCommandInput) async throws -> String {
        let raw = try input.string("path")
        let path = try MemoryPath.parse(raw)
        let text = try input.string("file_text")
        return try await retrying(raw) {
            guard case .missing = try await entry(at: path) else {
                throw MemoryToolFailure("File \(raw) already exists")
            }
            if let file = try await firstFileAncestor(of: path) {
                throw MemoryToolFailure("Cannot create \(raw): \(file.string) is a file, not a directory")
            }
            let operations = try await missingMarkers(path.ancestors)
                + [.put(key: try MemoryKey(path.fileKey), value: .string(text), options: writeOptions(ifVersion: 0))]
            _ = try await store.batch(operations, in: namespace)
            return "File created successfully at: \(raw)"
        }
    }

    private func strReplace(_ input: MemoryCommandInput) async throws -> String {
        let raw = try input.string("path")
        let path = try MemoryPath.parse(raw)
        let oldString = try input.string("old_str")
        let newString = try input.string("new_str")
        if oldString.isEmpty {
            throw MemoryToolFailure("Parameter `old_str` of command `str_replace` must not be empty")
        }
        return try await retrying(raw) {
            let record = try await file(at: path, as: raw)
            let bytes = Array(Self.text(of: record).utf8)
            let needle = Array(oldString.utf8)
            let matches = MemoryFileText.matches(of: needle, in: bytes)
            guard let position = matches.first else {
                throw MemoryToolFailure(
                    "No replacement was performed, old_str `\(oldString)` did not appear verbatim in \(raw).")
            }
            if matches.count > 1 {
                let lines = MemoryFileText.lineNumbers(ofOffsets: matches, in: bytes).map(String.init)
                throw MemoryToolFailure(
                    "No replacement was performed. Multiple occurrences of old_str `\(oldString)` in lines: "
                        + lines.joined(separator: ", ") + ". Please ensure it is unique")
            }
            let newText = String(
                decoding: bytes[..<position] + Array(newString.utf8) + bytes[(position + needle.count)...], as: UTF8.self)
            try await store.put(path.fileKey, value: .string(newText), in: namespace, options: writeOptions(ifVersion: record.version))

            let changedLine = MemoryFileText.lineNumbers(ofOffsets: [position], in: bytes)[0] - 1
            let lines = MemoryFileText.lines(newText)
            let start = max(0, changedLine - 2)
            let end = min(lines.count, changedLine + 3)
            return "The memory file has been edited. Here is the snippet showing the change (with line numbers):\n"
                + MemoryFileText.numbered(lines[start..<end], from: start + 1)
        }
    }

    private func insert(_ input: MemoryCommandInput) async throws -> String {
        let raw = try input.string("path")
        let path = try MemoryPath.parse(raw)
        let lineIndex = try input.integer("insert_line")
        let insertText = try input.string("insert_text")
        return try await retrying(raw) {
            let record = try await file(at: path, as: raw)
            var lines = MemoryFileText.linesWithoutTrailingEmpty(Self.text(of: record))
            guard (0...lines.count).contains(lineIndex) else {
                throw MemoryToolFailure(
                    "Invalid `insert_line` parameter: \(lineIndex). It should be within the range [0, \(lines.count)].")
            }
            var inserted = Array(insertText.utf8)
            while inserted.last == UInt8(ascii: "\n") { inserted.removeLast() }
            lines.insert(String(decoding: inserted, as: UTF8.self), at: lineIndex)
            var newText = lines.joined(separator: "\n")
            if newText.utf8.last != UInt8(ascii: "\n") { newText += "\n" }
            try await store.put(path.fileKey, value: .string(newText), in: namespace, options: writeOptions(ifVersion: record.version))
            return "The file \(raw) has been edited."
        }
    }

    private func delete(_ input: MemoryCommandInput) async throws -> String {
        let raw = try input.string("path")
        let path = try MemoryPath.parse(raw)
        if path.isRoot { throw MemoryToolFailure("Cannot delete the /memories directory itself") }
        return try await retrying(raw) {
            var operations: [MemoryOperation]
            switch try await entry(at: path) {
            case .missing:
                throw MemoryToolFailure("The path \(raw) does not exist")
            case .file(let record):
                operations = [.delete(key: MemoryKey(checked: record.key), ifVersion: record.version, author: author)]
            case .directory:
                operations = try await store.allRecords(in: namespace, prefix: path.directoryKey)
                    .map { .delete(key: MemoryKey(checked: $0.key), ifVersion: $0.version, author: author) }
            }
            // The parents stay, as on a filesystem, even when this emptied them.
            operations += try await missingMarkers(path.ancestors)
            _ = try await store.batch(operations, in: namespace)
            return "Successfully deleted \(raw)"
        }
    }

    private func rename(_ input: MemoryCommandInput) async throws -> String {
        let oldRaw = try input.string("old_path")
        let newRaw = try input.string("new_path")
        let old = try MemoryPath.parse(oldRaw)
        let new = try MemoryPath.parse(newRaw)
        if old.isRoot { throw MemoryToolFailure("Cannot rename the /memories directory itself") }
        return try await retrying(oldRaw) {
            guard case .missing = try await entry(at: new) else {
                throw MemoryToolFailure("The destination \(newRaw) already exists")
            }
            let source = try await entry(at: old)
            if case .missing = source { throw MemoryToolFailure("The path \(oldRaw) does not exist") }
            if case .directory = source, new.isSameOrInside(old) {
                throw MemoryToolFailure("Cannot rename \(oldRaw) to \(newRaw): a directory cannot be moved inside itself")
            }
            if let file = try await firstFileAncestor(of: new) {
                throw MemoryToolFailure("Cannot rename \(oldRaw) to \(newRaw): \(file.string) is a file, not a directory")
            }
            let moved: [MemoryRecord]
            switch source {
            case .file(let record): moved = [record]
            default: moved = try await store.allRecords(in: namespace, prefix: old.directoryKey)
            }
            // Deletes first, so a namespace quota counts the moved records once.
            var operations: [MemoryOperation] = moved.map { .delete(key: MemoryKey(checked: $0.key), ifVersion: $0.version, author: author) }
            // The old parents stay; the new parents are created.
            var parents: [MemoryPath] = []
            for parent in old.ancestors + new.ancestors where !parents.contains(parent) { parents.append(parent) }
            operations += try await missingMarkers(parents)
            let now = clock()
            for record in moved {
                let newKey = new.string + String(decoding: record.key.utf8.dropFirst(old.string.utf8.count), as: UTF8.self)
                var options = writeOptions(ifVersion: 0)
                if let expiresAt = record.expiresAt {
                    options.ttl = .milliseconds(max(1, Int64(expiresAt.timeIntervalSince(now) * 1000)))
                }
                operations.append(.put(key: try MemoryKey(newKey), value: record.value, options: options))
            }
            if case .directory = source, !moved.contains(where: { $0.key == old.directoryKey }) {
                operations.append(.put(key: try MemoryKey(new.directoryKey), value: Self.directoryMarkerValue, options: writeOptions(ifVersion: 0)))
            }
            _ = try await store.batch(operations, in: namespace)
            return "Successfully renamed \(oldRaw) to \(newRaw)"
        }
    }

    // MARK: - Records

    /// What a path names in the store.
    private enum Entry {
        case file(MemoryRecord)
        case directory
        case missing
    }

    private func entry(at path: MemoryPath) async throws -> Entry {
        if path.isRoot { return .directory }
        if let record = try await store.get(path.fileKey, in: namespace) { return .file(record) }
        if try await store.get(path.directoryKey, in: namespace) != nil { return .directory }
        let inside = try await store.list(in: namespace, prefix: path.directoryKey, cursor: nil, limit: 1)
        return inside.records.isEmpty ? .missing : .directory
    }

    /// The record of the file at `path`, or the reference's error for a missing path or a directory.
    private func file(at path: MemoryPath, as raw: String) async throws -> MemoryRecord {
        switch try await entry(at: path) {
        case .file(let record): return record
        case .directory: throw MemoryToolFailure("The path \(raw) is not a file.")
        case .missing: throw MemoryToolFailure("The path \(raw) does not exist. Please provide a valid path.")
        }
    }

    /// The outermost parent of `path` that is a file, if any (a path cannot live under a file).
    private func firstFileAncestor(of path: MemoryPath) async throws -> MemoryPath? {
        for ancestor in path.ancestors where try await store.get(ancestor.fileKey, in: namespace) != nil {
            return ancestor
        }
        return nil
    }

    /// Puts of a marker for each of `directories` that has none, each on the condition that it
    /// still has none when the batch runs.
    private func missingMarkers(_ directories: [MemoryPath]) async throws -> [MemoryOperation] {
        var operations: [MemoryOperation] = []
        for directory in directories where !directory.isRoot {
            if try await store.get(directory.directoryKey, in: namespace) == nil {
                operations.append(.put(key: try MemoryKey(directory.directoryKey), value: Self.directoryMarkerValue, options: writeOptions(ifVersion: 0)))
            }
        }
        return operations
    }

    private func writeOptions(ifVersion: Int) -> PutOptions {
        PutOptions(ifVersion: ifVersion, author: author)
    }

    /// A file's text: its string value, or the JSON text of a value another tool stored.
    static func text(of record: MemoryRecord) -> String {
        record.value.stringValue ?? record.value.jsonString()
    }

    /// Runs `body` again (re-reading) when a compare-and-set fails because another writer got
    /// there first; after ``maxAttempts`` tries, says so and changes nothing.
    private func retrying(_ raw: String, _ body: () async throws -> String) async throws -> String {
        var attempt = 1
        while true {
            do {
                return try await body()
            } catch let error as MemoryError where error.code == .versionConflict {
                guard attempt < Self.maxAttempts else {
                    throw MemoryToolFailure(
                        "Another agent kept changing \(raw) at the same time; nothing was changed. Please try again.")
                }
                attempt += 1
                try? await Task.sleep(for: .milliseconds(Int.random(in: 1...(5 * attempt))))
            }
        }
    }
}
