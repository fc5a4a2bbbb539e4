// A dudect-style check of the bearer-token comparison (Reparaz, Balasch, Verbauwhede, "Dude,
// is my code constant time?", 2017), built by scripts/reliability/token-timing.sh together
// with the `ConstantTime` enum taken from Sources/AgentMemoryServer/TokenFile.swift at build
// time (not a copy kept here).
//
// One fixed secret of LENGTH printable bytes is compared with inputs of three classes:
//   first: equal to it except in the first byte;
//   last:  equal to it except in the last byte;
//   equal: equal to it (a different String with the same bytes).
// Each measurement picks a class at random, times BATCH comparisons of one input of that
// class with clock_gettime(CLOCK_MONOTONIC), and adds the time to that class's running mean
// and variance. Welch's t statistic between two classes above 4.5 in absolute value is
// dudect's threshold for "the time depends on the class": a leak. As in dudect the
// measurements are also tested after cropping those above a percentile (taken from a warm-up
// sample), since noise on a shared machine only adds large outliers.
//
// What matters is `first` against `last`: a comparison that stops at the first difference
// takes longer the later the difference, which lets an attacker guess a token byte by byte.
// `equal` against the others tells only whether the token matched, which the response says
// anyway; the two are reported apart.
//
// Nothing in the set-up may depend on the class but the input's bytes: earlier versions that
// counted `equal` batches with an `if` or consumed the result with a branch showed `equal`
// a few nanoseconds apart from the others with every comparison, the blind one included
// (|t| 19 to 512 after cropping, the sign changing with the length): the misprediction of a
// branch on the class just before the timed region.
//
// The same is run on two controls: a naive comparison (`==` on the UTF-8 byte arrays, which
// stops at the first difference) must show a leak, or the set-up cannot see one; a blind one
// (the same two arrays, lengths compared, no byte read) shows what the set-up itself adds.
//
// Usage: token-timing LENGTH MEASUREMENTS BATCH [SEED]
import Foundation

@inline(never)
func constantTimeEqual(_ a: String, _ b: String) -> Bool { ConstantTime.equal(a, b) }

@inline(never)
func naiveEqual(_ a: String, _ b: String) -> Bool { Array(a.utf8) == Array(b.utf8) }

/// Makes the same two arrays and compares no byte: what the set-up itself contributes.
@inline(never)
func blindEqual(_ a: String, _ b: String) -> Bool { Array(a.utf8).count == Array(b.utf8).count }

/// A running mean and variance (Welford).
struct Moments {
    var count = 0.0, mean = 0.0, m2 = 0.0
    mutating func add(_ x: Double) {
        count += 1
        let delta = x - mean
        mean += delta / count
        m2 += delta * (x - mean)
    }
    var variance: Double { count > 1 ? m2 / (count - 1) : 0 }
}

/// Welch's t statistic of two samples.
func welch(_ a: Moments, _ b: Moments) -> Double {
    let denominator = (a.variance / a.count + b.variance / b.count).squareRoot()
    return denominator > 0 ? (a.mean - b.mean) / denominator : 0
}

/// xorshift64*: a fixed, cheap generator, so runs are repeatable given the seed.
struct Generator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state ^= state >> 12; state ^= state << 25; state ^= state >> 27
        return state &* 2_685_821_657_736_338_717
    }
}

func nanoseconds() -> UInt64 {
    var time = timespec()
    clock_gettime(CLOCK_MONOTONIC, &time)
    return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
}

/// A String with these bytes and storage of its own (never shared with another input).
func freshString(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }

let arguments = CommandLine.arguments
guard arguments.count >= 4, let length = Int(arguments[1]), let measurements = Int(arguments[2]),
    let batch = Int(arguments[3]), length >= 2
else {
    print("usage: token-timing LENGTH MEASUREMENTS BATCH [SEED]")
    exit(2)
}
var random = Generator(state: arguments.count > 4 ? UInt64(arguments[4]) ?? 1 : 0x9E37_79B9_7F4A_7C15)
let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)
let secretBytes = (0..<length).map { _ in alphabet[Int(random.next() % UInt64(alphabet.count))] }
let secret = freshString(secretBytes)
let classNames = ["first", "last", "equal"]
let halves = 2
// Each measurement builds its input the same way whatever the class: the secret's bytes are in
// one scratch array, the class only picks the values written to its first and last byte (from
// two small tables), and a fresh String is made of it outside the timed region, so it lands at
// the same address (the allocator reuses the block). A first version kept each class's bytes
// in an array of their own: the blind control then differed between `first` and `last` at 64
// bytes (|t| 374 after cropping), an effect of where those bytes lay, not of their values.
let flippedFirst = secretBytes[0] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
let flippedLast = secretBytes[length - 1] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
let firstByte: [UInt8] = [flippedFirst, secretBytes[0], secretBytes[0]]
let lastByte: [UInt8] = [secretBytes[length - 1], flippedLast, secretBytes[length - 1]]
var scratch = secretBytes

struct Result {
    var name: String
    var moments: [Moments]
    var cropped: [Moments]
    var cutoff: Double
}

@MainActor
func measure(_ name: String, _ compare: (String, String) -> Bool) -> Result {
    var sink = 0, batchesOf = [0, 0, 0]  // counted by index: no branch on the class
    func timeOne(_ kind: Int) -> Double {
        scratch[0] = firstByte[kind]
        scratch[length - 1] = lastByte[kind]
        let input = freshString(scratch)
        batchesOf[kind] += 1
        let start = nanoseconds()
        for _ in 0..<batch { sink &+= Int(unsafeBitCast(compare(secret, input), to: UInt8.self)) }
        return Double(nanoseconds() - start)
    }
    // Warm-up: caches, branch predictors, and the crop percentile (90th, all classes).
    var warm: [Double] = []
    for _ in 0..<max(10_000, measurements / 100) { warm.append(timeOne(Int(random.next() % 3))) }
    warm.sort()
    let cutoff = warm[warm.count * 9 / 10]
    var moments = [Moments](repeating: Moments(), count: 3)
    var cropped = moments
    for _ in 0..<measurements / halves {
        let kind = Int(random.next() % 3)
        let time = timeOne(kind)
        moments[kind].add(time)
        if time <= cutoff { cropped[kind].add(time) }
    }
    // Every input of class `equal` matched and no other did (the blind one matches all).
    if sink != (name.hasPrefix("blind") ? batchesOf.reduce(0, +) : batchesOf[2]) * batch {
        print("\(name): comparison results are wrong (\(sink) matches)")
        exit(1)
    }
    return Result(name: name, moments: moments, cropped: cropped, cutoff: cutoff)
}

@MainActor
func report(_ result: Result) -> (position: Double, match: Double) {
    var position = 0.0, match = 0.0
    print("\(result.name): \(measurements) measurements of \(batch) comparisons, \(length)-byte secret")
    for (kind, moments) in result.moments.enumerated() {
        let cropped = result.cropped[kind]
        print(String(format: "  %-5@ n=%8.0f mean %9.1f ns/batch  sd %8.1f;  cropped n=%8.0f mean %9.2f  sd %8.1f", classNames[kind] as NSString,
                     moments.count, moments.mean, moments.variance.squareRoot(), cropped.count, cropped.mean, cropped.variance.squareRoot()))
    }
    for (a, b) in [(0, 1), (0, 2), (1, 2)] {
        let raw = welch(result.moments[a], result.moments[b])
        let crop = welch(result.cropped[a], result.cropped[b])
        if b == 1 { position = max(abs(raw), abs(crop)) } else { match = max(match, abs(raw), abs(crop)) }
        print(String(format: "  t(%@ vs %@) = %8.2f   cropped at %.0f ns: %8.2f", classNames[a] as NSString, classNames[b] as NSString,
                     raw, result.cutoff, crop))
    }
    print(String(format: "  position of the difference (first vs last): max |t| = %.2f: %@", position,
                 (position > 4.5 ? "LEAK (|t| > 4.5)" : "no leak detected (|t| <= 4.5)") as NSString))
    print(String(format: "  match (equal vs unequal): max |t| = %.2f", match))
    return (position, match)
}

/// Two samples' moments as one (Chan et al.).
func combine(_ a: Moments, _ b: Moments) -> Moments {
    guard a.count > 0 else { return b }
    guard b.count > 0 else { return a }
    let count = a.count + b.count
    let delta = b.mean - a.mean
    return Moments(count: count, mean: a.mean + delta * b.count / count, m2: a.m2 + b.m2 + delta * delta * a.count * b.count / count)
}

// The two comparisons alternate in halves so that a change of load hits both.
var results: [String: Result] = [:]
for _ in 0..<halves {
    for (name, compare) in [("ConstantTime.equal", constantTimeEqual), ("naive ==", naiveEqual), ("blind (no byte read)", blindEqual)]
        as [(String, (String, String) -> Bool)]
    {
        let part = measure(name, compare)
        if var merged = results[name] {
            for kind in 0..<3 {
                merged.moments[kind] = combine(merged.moments[kind], part.moments[kind])
                merged.cropped[kind] = combine(merged.cropped[kind], part.cropped[kind])
            }
            results[name] = merged
        } else {
            results[name] = part
        }
    }
}

let constantTime = report(results["ConstantTime.equal"]!)
let naive = report(results["naive =="]!)
let blind = report(results["blind (no byte read)"]!)
print(String(format: "summary: length %d, %d measurements; first vs last max |t|: ConstantTime.equal %.2f, naive == %.2f, blind %.2f; equal vs unequal max |t|: ConstantTime.equal %.2f, naive == %.2f, blind %.2f",
             length, measurements, constantTime.position, naive.position, blind.position, constantTime.match, naive.match, blind.match))
