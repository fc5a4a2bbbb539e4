import Foundation

/// The one timestamp form the library writes, `2026-11-25T20:01:28.123Z` (ISO 8601, UTC,
/// milliseconds), formatted and parsed by arithmetic on the calendar.
///
/// Foundation's `ISO8601FormatStyle` does the same through a calendar and a time zone object:
/// parsing the two times of every exported line was 5% of an `agent-memory import` of 100,000
/// records (BENCHMARKS.md, round twenty-six). The results are Foundation's own to the bit (a test
/// compares both on 20,000 times); anything else (another form, a year before 1970 or after
/// 9999) is left to Foundation by the callers (``MemoryRecord/formatDate(_:)``,
/// ``MemoryRecord/parseDate(_:)``).
enum UTCTimestamp {
    /// `date` as `YYYY-MM-DDTHH:MM:SS.sssZ`, the milliseconds rounded down; `nil` outside the
    /// years 1970 to 9999.
    static func format(_ date: Date) -> String? {
        // As Foundation computes it: whole seconds and the fraction of the time since 2001
        // (what a `Date` holds); from the time since 1970 a third of such times came out a
        // millisecond apart.
        let sinceReference = date.timeIntervalSinceReferenceDate
        let whole = sinceReference.rounded(.down)
        let seconds = Int64(exactly: whole).map { $0 + referenceSeconds } ?? -1
        guard seconds >= 0, seconds < 253_402_300_800 else { return nil }  // 10000-01-01
        let milliseconds = seconds * 1000 + Int64(((sinceReference - whole) * 1000).rounded(.down))
        let days = milliseconds / 86_400_000
        let inDay = milliseconds % 86_400_000
        let (year, month, day) = civil(fromDays: days)
        var bytes = [UInt8](repeating: 0, count: 24)
        func put(_ value: Int64, at offset: Int, digits: Int) {
            var value = value
            for index in stride(from: offset + digits - 1, through: offset, by: -1) {
                bytes[index] = UInt8(ascii: "0") + UInt8(value % 10)
                value /= 10
            }
        }
        put(year, at: 0, digits: 4)
        put(month, at: 5, digits: 2)
        put(day, at: 8, digits: 2)
        put(inDay / 3_600_000, at: 11, digits: 2)
        put(inDay / 60_000 % 60, at: 14, digits: 2)
        put(inDay / 1_000 % 60, at: 17, digits: 2)
        put(inDay % 1_000, at: 20, digits: 3)
        for (offset, separator) in separators { bytes[offset] = separator }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The separators' offsets and bytes in `YYYY-MM-DDTHH:MM:SS.sssZ`.
    private static let separators: [(Int, UInt8)] = [
        (4, UInt8(ascii: "-")), (7, UInt8(ascii: "-")), (10, UInt8(ascii: "T")), (13, UInt8(ascii: ":")),
        (16, UInt8(ascii: ":")), (19, UInt8(ascii: ".")), (23, UInt8(ascii: "Z")),
    ]

    /// The time of `YYYY-MM-DDTHH:MM:SS.sssZ` or `YYYY-MM-DDTHH:MM:SSZ` (a valid date, years
    /// 1970 to 9999); `nil` for any other text.
    static func parse(_ text: String) -> Date? {
        var text = text
        return text.withUTF8 { bytes -> Date? in
            guard bytes.count == 24 || bytes.count == 20 else { return nil }
            func number(_ offset: Int, _ digits: Int) -> Int64? {
                var value: Int64 = 0
                for index in offset..<(offset + digits) {
                    let digit = bytes[index] &- UInt8(ascii: "0")
                    guard digit < 10 else { return nil }
                    value = value * 10 + Int64(digit)
                }
                return value
            }
            // The date's and time's separators (the first five), then `.` (with milliseconds)
            // and the closing `Z` where this length puts them.
            guard separators.prefix(5).allSatisfy({ bytes[$0.0] == $0.1 }),
                bytes[bytes.count - 1] == UInt8(ascii: "Z"),
                bytes.count == 20 || bytes[19] == UInt8(ascii: "."),
                let year = number(0, 4), let month = number(5, 2), let day = number(8, 2),
                let hour = number(11, 2), let minute = number(14, 2), let second = number(17, 2),
                let milliseconds = bytes.count == 24 ? number(20, 3) : 0,
                year >= 1970, (1...12).contains(month), day >= 1, day <= daysIn(month: month, year: year),
                hour < 24, minute < 60, second < 60
            else { return nil }
            let days = self.days(fromYear: year, month: month, day: day)
            let inDay = hour * 3_600 + minute * 60 + second
            // As Foundation computes it: the day's start from 2001, plus the time within the day
            // with its fraction, added last. From 1970, 1 in 60 times differed in the last bit;
            // the fraction added to the whole seconds from 2001, about 1 in 100 (most of them
            // within months of 2001, where a bit is worth least), 0 in 200,000 this way.
            let dayStart = Double(days * 86_400 - referenceSeconds)
            return Date(timeIntervalSinceReferenceDate: dayStart + (Double(inDay) + Double(milliseconds) / 1000))
        }
    }

    /// Seconds from 1970-01-01 to 2001-01-01, Foundation's reference date.
    private static let referenceSeconds: Int64 = 978_307_200

    /// Days in `month` of `year` (Gregorian).
    private static func daysIn(month: Int64, year: Int64) -> Int64 {
        switch month {
        case 2: return year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// Days from 1970-01-01 to a date on or after it (Howard Hinnant's `days_from_civil`).
    private static func days(fromYear year: Int64, month: Int64, day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = y / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    /// The date `days` after 1970-01-01 (`civil_from_days`).
    private static func civil(fromDays days: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let z = days + 719_468
        let era = z / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1_460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let shifted = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * shifted + 2) / 5 + 1
        let month = shifted < 10 ? shifted + 3 : shifted - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}
