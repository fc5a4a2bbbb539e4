import Foundation
import Testing

@testable import AgentMemoryCore

/// The library's own timestamp arithmetic gives Foundation's `ISO8601FormatStyle` results to
/// the bit, and leaves every other form to it.
@Suite("UTC timestamps")
struct UTCTimestampTests {
    static let style = Date.ISO8601FormatStyle().year().month().day().time(includingFractionalSeconds: true).timeZone(separator: .omitted)

    /// 20,000 times from 1970 to 9999, a quarter of them within a year of 2001 (whole
    /// milliseconds, fractions between them, the edges of days, leap days and centuries): the
    /// same text as Foundation's formatter, and the same `Date` as Foundation's parser for that
    /// text.
    @Test func formatAndParseAsFoundationDoes() throws {
        var generator = SystemRandomNumberGenerator()
        var times: [TimeInterval] = [0, 0.0005, 0.999, 0.9999, 86_399.999, 951_782_400, 951_868_799.9995, 4_107_542_400, 253_402_300_799.999]
        // Two that the parse once got a bit or a few off, near Foundation's reference date.
        times += [979_739_688.728, 978_292_742.604]
        for index in 0..<20_000 {
            // Every fourth within a year of 2001-01-01, where a bit of a `Date` is worth least.
            let seconds = index % 4 == 0
                ? Double.random(in: 946_771_200..<1_009_843_200, using: &generator)
                : Double.random(in: 0..<253_402_300_799, using: &generator)
            switch Int.random(in: 0..<3, using: &generator) {
            case 0: times.append((seconds * 1000).rounded(.down) / 1000)
            case 1: times.append(seconds.rounded(.down))
            default: times.append(seconds)
            }
        }
        for seconds in times {
            let date = Date(timeIntervalSince1970: seconds)
            let foundation = date.formatted(Self.style)
            #expect(UTCTimestamp.format(date) == foundation, "\(seconds)")
            let parsed = try Date(foundation, strategy: Self.style)
            #expect(UTCTimestamp.parse(foundation) == parsed, "\(foundation)")
            let withoutFraction = String(foundation.prefix(19)) + "Z"
            #expect(UTCTimestamp.parse(withoutFraction) == (try Date(withoutFraction, strategy: .iso8601)), "\(withoutFraction)")
        }
    }

    /// Other forms, impossible dates and years outside 1970 to 9999 are not parsed here
    /// (``MemoryRecord/parseDate(_:)`` then asks Foundation), and are not formatted here.
    @Test func otherFormsAreLeftToFoundation() {
        for text in [
            "2026-02-29T10:00:00.000Z", "2026-13-01T10:00:00.000Z", "2026-04-31T10:00:00Z", "2026-01-01T24:00:00Z",
            "1969-12-31T23:59:59.999Z", "2026-01-01T10:00:00.000+01:00", "2026-01-01 10:00:00Z", "2026-01-01T10:00:00.00Z",
            "2026-01-01T10:00:0aZ", "", "2026-01-01",
        ] {
            #expect(UTCTimestamp.parse(text) == nil, "\(text)")
        }
        #expect(UTCTimestamp.parse("2024-02-29T10:00:00.000Z") != nil)
        #expect(MemoryRecord.parseDate("2026-01-01T10:00:00.000+01:00") == Date(timeIntervalSince1970: 1_767_258_000))
        #expect(UTCTimestamp.format(Date(timeIntervalSince1970: -1)) == nil)
        #expect(MemoryRecord.formatDate(Date(timeIntervalSince1970: -1)) == "1969-12-31T23:59:59.000Z")
        #expect(UTCTimestamp.format(Date(timeIntervalSince1970: 253_402_300_800)) == nil)
    }
}
