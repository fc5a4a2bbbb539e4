import AgentMemoryJSON
import AgentMemory
import ArgumentParser
import Foundation

struct Export: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write the namespace's records to stdout as JSON Lines (every field of every record).")

    @OptionGroup var options: GlobalOptions
    @ParentCommand var root: AgentMemoryCommand
    var global: GlobalOptions { options.merged(over: root.options) }

    func run() async throws {
        try await runReportingErrors {
            let namespace = try global.resolvedNamespace()
            let store = try global.openStore()
            var cursor: String?
            repeat {
                let page = try await store.list(in: namespace, prefix: nil, cursor: cursor, limit: 1000)
                var chunk = ""
                for record in page.records { chunk += record.jsonObject.jsonString() + "\n" }
                FileHandle.standardOutput.write(Data(chunk.utf8))
                cursor = page.nextCursor
            } while cursor != nil
        }
    }
}

struct Import: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Read JSON Lines records (as written by export) from FILE or stdin into the namespace.",
        discussion: """
            Every line is checked first; if any is invalid, each bad line is reported with its number and \
            nothing is imported. Valid input is written in one transaction. Each record's value, author and \
            remaining time to live are kept; versions and times are the store's (a key that exists gets a \
            new version). Records that have already expired are skipped.
            """)

    @OptionGroup var options: GlobalOptions
    @ParentCommand var root: AgentMemoryCommand
    var global: GlobalOptions { options.merged(over: root.options) }
    @Argument(help: "A JSON Lines file (default: stdin).") var file: String?

    func run() async throws {
        try await runReportingErrors {
            let namespace = try global.resolvedNamespace()
            let data: Data
            if let file {
                guard let contents = FileManager.default.contents(atPath: file) else {
                    throw CLIError("Cannot read \(file)", exitCode: 2)
                }
                data = contents
            } else {
                data = FileHandle.standardInput.readDataToEndOfFile()
            }
            let limits = MemoryLimits.default
            let now = Date()
            var operations: [MemoryOperation] = []
            var problems: [String] = []
            var skipped = 0
            for (index, line) in data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).enumerated() {
                let text = line.last == UInt8(ascii: "\r") ? line.dropLast() : line[...]
                if text.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { continue }
                do {
                    let record = try MemoryRecord(jsonObject: JSONValue(parsing: Array(text)))
                    let key = try MemoryKey(record.key)
                    try limits.validate(key: key)
                    try limits.validate(valueBytes: record.value.jsonByteCount, key: record.key)
                    if let expiresAt = record.expiresAt {
                        guard expiresAt > now else {
                            skipped += 1
                            continue
                        }
                        let remaining = Duration.milliseconds(Int64(expiresAt.timeIntervalSince(now) * 1000))
                        operations.append(.put(key: key, value: record.value, options: PutOptions(ttl: remaining, author: record.author ?? global.resolvedAgent)))
                    } else {
                        operations.append(.put(key: key, value: record.value, options: PutOptions(author: record.author ?? global.resolvedAgent)))
                    }
                } catch let error as MemoryError {
                    problems.append("line \(index + 1): \(error.message)")
                } catch {
                    problems.append("line \(index + 1): not valid JSON: \(error)")
                }
            }
            if !problems.isEmpty {
                throw CLIError("nothing was imported; fix these lines:\n" + problems.joined(separator: "\n"), exitCode: 2)
            }
            let store = try global.openStore()
            try await store.batch(operations, in: namespace)
            printLine("Imported \(operations.count) records into \"\(namespace)\"" + (skipped > 0 ? " (skipped \(skipped) expired)." : "."))
        }
    }
}
