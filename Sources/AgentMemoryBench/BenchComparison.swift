import AgentMemoryJSON
import Foundation

/// A store row beside the raw-SQLite row that bounds it, measured in the same run, with the
/// ratio and the issue's target for it (absolute numbers vary several-fold with the load on a
/// shared machine; the ratio much less).
struct BenchComparison: Sendable {
    /// The store's row, as labelled in the table.
    var row: String
    var rate: Double
    /// The raw-SQLite row it is compared with.
    var limit: String
    var limitRate: Double
    /// The least ratio the issue asks for, when it sets one for this pair.
    var minimumRatio: Double?
    var targetText: String

    var ratio: Double { limitRate > 0 ? rate / limitRate : 0 }
    var met: Bool? { minimumRatio.map { ratio >= $0 } }

    var jsonValue: JSONValue {
        var object: [(String, JSONValue)] = [
            ("row", .string(row)), ("rate", .double(rate.rounded())), ("limit", .string(limit)),
            ("limit_rate", .double(limitRate.rounded())), ("ratio", .double((ratio * 1000).rounded() / 1000)),
        ]
        if let minimumRatio {
            object.append(("target_ratio", .double(minimumRatio)))
            object.append(("met", .bool(ratio >= minimumRatio)))
        }
        return .object(JSONObject(object))
    }

    /// The pairs the issue sets targets for (and a few that explain them), from the rows present.
    static func sqlitePairs(_ measurements: [BenchMeasurement]) -> [BenchComparison] {
        func find(_ name: String, _ store: String) -> BenchMeasurement? {
            measurements.first { $0.name == name && $0.store == store }
        }
        let raw = RawSQLiteBaseline.store
        let full = RawSQLiteBaseline.pairedStore("FULL")
        let normal = RawSQLiteBaseline.pairedStore("NORMAL")
        let pairs: [(String, String, String, Double?, String)] = [
            ("fill: batch of 1,000 puts", full, RawSQLiteBaseline.batchName(.records), 1.0 / 3, "≥ 1/3"),
            ("fill: batch of 1,000 puts", full, RawSQLiteBaseline.batchName(.recordsAndChange), nil, ""),
            ("fill: batch of 1,000 puts", full, RawSQLiteBaseline.batchName(.recordsChangeAndIndex), nil, ""),
            ("put, one writer", full, RawSQLiteBaseline.autocommitName(.records, "FULL"), 0.9, "≥ 0.9×"),
            ("put, one writer", full, RawSQLiteBaseline.autocommitName(.recordsAndChange, "FULL"), nil, ""),
            ("put, one writer", full, RawSQLiteBaseline.autocommitName(.recordsChangeAndIndex, "FULL"), nil, ""),
            ("put, one writer", normal, RawSQLiteBaseline.autocommitName(.records, "NORMAL"), 0.5, "≥ 1/2"),
            ("put, one writer", normal, RawSQLiteBaseline.autocommitName(.recordsAndChange, "NORMAL"), nil, ""),
            ("put, one writer", normal, RawSQLiteBaseline.autocommitName(.recordsChangeAndIndex, "NORMAL"), nil, ""),
            ("get hit", full, RawSQLiteBaseline.getName, 0.5, "≥ 1/2"),
            // The issue's target for the responses is absolute (≥ 50,000 calls/s); the ratio
            // says how much of this run's limit the executor reaches.
            (ExecutorBenchmarks.endToEndName, full, RawSQLiteBaseline.responseName, nil, ""),
            (RawSQLiteBaseline.pausedPutName, full, RawSQLiteBaseline.rawPausedName, nil, ""),
        ]
        return pairs.compactMap { name, store, limitName, minimum, text in
            guard let row = find(name, store), let limit = find(limitName, raw) else { return nil }
            return BenchComparison(
                row: row.label, rate: row.rate, limit: limit.name, limitRate: limit.rate, minimumRatio: minimum, targetText: text)
        }
    }

    /// The comparisons as a Markdown table, or nothing when there are none.
    static func table(_ comparisons: [BenchComparison]) -> [String] {
        guard !comparisons.isEmpty else { return [] }
        var lines = [
            "", "against raw SQLite through the C API, same run, same durability, same folder:", "",
            "| store row | ops/s | raw SQLite row | ops/s | ratio | target | met? |",
            "|---|---:|---|---:|---:|---|---|",
        ]
        for comparison in comparisons {
            let met = comparison.met.map { $0 ? "yes" : "NO" } ?? ""
            lines.append(
                "| \(comparison.row) | \(comparison.rate.formattedRate) | \(comparison.limit) | \(comparison.limitRate.formattedRate) | "
                    + "\(String(format: "%.2f", comparison.ratio)) | \(comparison.targetText) | \(met) |")
        }
        return lines
    }
}
