import AgentMemoryJSON
import AgentMemory
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The results of a bench run, as a Markdown table or JSON.
public struct BenchReport: Sendable {
    var plan: BenchPlan
    var measurements: [BenchMeasurement] = []
    /// SQLite store rows beside raw SQLite's, with their ratios.
    var comparisons: [BenchComparison] = []
    var peakMemoryBytes = 0
    var loadBefore: Double = 0
    var loadAfter: Double = 0
    var seconds: Double = 0
    /// SQLite's threading mode in this process (``SQLiteMemoryStore/sqliteIsMultiThread``):
    /// "multi-thread", "serialized" or "unknown".
    var sqliteMode = Self.sqliteMode()

    /// The report as a Markdown table with the machine, load and notes around it.
    public var table: String {
        var lines = [
            "agent-memory bench: \(plan.quick ? "--quick, " : "")\(plan.records.formatted) records, "
                + "\(ProcessInfo.processInfo.activeProcessorCount) cores, load average \(String(format: "%.2f", loadBefore)) before, "
                + "\(String(format: "%.2f", loadAfter)) after, \(String(format: "%.1f", seconds)) s, SQLite \(sqliteMode)",
            "",
            "| measure | ops/s | p50 µs | p99 µs | target | met? |",
            "|---|---:|---:|---:|---|---|",
        ]
        for measurement in measurements {
            let unit = measurement.unit == "ops/s" ? "" : " (\(measurement.unit))"
            let met = measurement.met.map { $0 ? "yes" : "NO" } ?? ""
            lines.append(
                "| \(measurement.label)\(unit) | \(measurement.rate.formattedRate) | \(measurement.p50.formattedMicros) | "
                    + "\(measurement.p99.formattedMicros) | \(measurement.target?.text ?? "") | \(met) |")
        }
        lines += BenchComparison.table(comparisons)
        lines.append("")
        lines.append("peak memory (ru_maxrss): \(String(format: "%.1f", Double(peakMemoryBytes) / 1_048_576)) MiB")
        let notes = measurements.compactMap { m in m.note.map { "- \(m.label): \($0)" } }
        if !notes.isEmpty {
            lines.append("")
            lines.append("latency is per operation unless noted:")
            lines += Array(Set(notes)).sorted()
        }
        if plan.records != 10_000 {
            lines.append("")
            lines.append(
                "note: the issue's targets are for a 10,000-record namespace"
                    + (plan.isLarge ? " (get and search also at 1,000,000, used here)" : "") + "; this run used \(plan.records.formatted).")
        }
        return lines.joined(separator: "\n")
    }

    /// The report as JSON: the plan, every measure, peak memory and load.
    public var json: JSONValue {
        .object(JSONObject([
            ("records", .int(plan.records)), ("quick", .bool(plan.quick)),
            ("cores", .int(ProcessInfo.processInfo.activeProcessorCount)),
            ("load_average_before", .double(loadBefore)), ("load_average_after", .double(loadAfter)),
            ("seconds", .double(seconds)), ("sqlite_mode", .string(sqliteMode)),
            ("peak_memory_bytes", .int(peakMemoryBytes)),
            ("measures", .array(measurements.map(\.jsonValue))),
            ("comparisons", .array(comparisons.map(\.jsonValue))),
        ]))
    }

    /// SQLite's threading mode for connections opened now.
    static func sqliteMode() -> String {
        SQLiteMemoryStore.sqliteIsMultiThread.map { $0 ? "multi-thread" : "serialized" } ?? "unknown"
    }

    /// The one-minute load average, to tell whether the machine was busy.
    static func loadAverage() -> Double {
        var loads = [0.0, 0.0, 0.0]
        return getloadavg(&loads, 3) >= 1 ? loads[0] : 0
    }
}

extension Int {
    var formatted: String {
        let digits = String(Swift.abs(self))
        var out = ""
        for (index, character) in digits.reversed().enumerated() {
            if index > 0, index % 3 == 0 { out.append(",") }
            out.append(character)
        }
        return (self < 0 ? "-" : "") + String(out.reversed())
    }
}

extension Double {
    var formattedRate: String {
        self >= 100 || !isFinite ? (isFinite ? Int(rounded()).formatted : "-") : String(format: "%.1f", self)
    }

    var formattedMicros: String {
        self >= 100 ? Int(rounded()).formatted : String(format: "%.1f", self)
    }
}
