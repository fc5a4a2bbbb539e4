import AgentMemoryCore

// The `view` of a directory: the reference's listing, built from the keys under its prefix.
extension BuiltinMemoryTool {
    /// The reference's directory view: the directory, then its entries depth-first by name,
    /// two levels deep, hidden names skipped, directories as `4K` and ending in `/`.
    func listDirectory(_ path: MemoryPath, as raw: String) async throws -> String {
        let prefix = path.directoryKey
        var tree = DirectoryListing()
        for record in try await store.allRecords(in: namespace, prefix: prefix) {
            var key = record.key
            let isMarker = key.utf8.last == UInt8(ascii: "/")
            if isMarker { key = String(decoding: key.utf8.dropLast(), as: UTF8.self) }
            // Only keys the tool itself could open are shown (not `a//b`, `a/../b`, ...).
            guard let normalized = try? MemoryPath.parse(key), normalized.string == key,
                normalized.components.count > path.components.count
            else { continue }
            let relative = normalized.components.dropFirst(path.components.count)
            tree.insert(relative, fileSize: isMarker ? nil : Self.text(of: record).utf8.count)
        }
        var lines = ["4K\t\(raw)"]
        tree.render(into: &lines, base: raw, relative: "", depth: 1)
        return "Here're the files and directories up to 2 levels deep in \(raw), excluding hidden items:\n"
            + lines.joined(separator: "\n")
    }
}

/// The entries under a directory, built from keys, for the `view` listing.
private struct DirectoryListing {
    var files: [String: Int] = [:]
    var directories: [String: DirectoryListing] = [:]

    /// Adds the file (with its size) or directory (`fileSize` nil) at `components`, and the
    /// directories that contain it.
    mutating func insert(_ components: ArraySlice<String>, fileSize: Int?) {
        guard let first = components.first else { return }
        if components.count == 1, let fileSize {
            files[first] = fileSize
        } else {
            directories[first, default: DirectoryListing()].insert(components.dropFirst(), fileSize: fileSize)
        }
    }

    func render(into lines: inout [String], base: String, relative: String, depth: Int) {
        let names = Set(files.keys).union(directories.keys)
            .filter { $0.utf8.first != UInt8(ascii: ".") }
            .sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        for name in names {
            let path = relative.isEmpty ? name : relative + "/" + name
            if let directory = directories[name] {
                lines.append("4K\t\(base)/\(path)/")
                if depth < 2 { directory.render(into: &lines, base: base, relative: path, depth: depth + 1) }
            }
            if let size = files[name] {
                lines.append("\(MemoryFileText.formatSize(size))\t\(base)/\(path)")
            }
        }
    }
}
