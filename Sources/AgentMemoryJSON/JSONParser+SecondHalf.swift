import Foundation
import Synchronization

extension JSONParser {
    /// Inputs of at least this many bytes are parsed on two threads when they hold a long
    /// array of objects (``SecondHalf``): an assistant message of a thousand tool calls.
    static let secondHalfBytes = 96 * 1024

    /// The second half of a long array of objects, parsed on a thread of its own while the
    /// caller's cursor parses the first half: a message of 2,000 tool calls is parsed in about
    /// half the time on two cores.
    ///
    /// Where the second half begins is a guess, made without parsing up to it: a comma past
    /// the input's middle between a `}` and a `{` (spaces aside). The thread parses from there
    /// as the rest of an array, `, value, value ... ]`; when that fails at once (the guess fell
    /// inside a string that holds such text) it tries the next such comma, a few times. The
    /// caller's cursor uses what the thread parsed only if it arrives at that very comma
    /// between two elements of an array: the text from there is then the same rest of an
    /// array, parsed the same way, so the values are the ones it would have made itself. A
    /// guess it never arrives at is not used, nor a thread that failed or went deeper than the
    /// nesting limit allows at that depth: the cursor then parses the rest itself, so every
    /// error is the one a single pass reports, at the same offset.
    ///
    /// The input is read by both threads and must outlive the parse: ``finish()`` returns only
    /// once the thread no longer reads it. The state is guarded by the condition's lock.
    final class SecondHalf: @unchecked Sendable {
        private let input: UnsafeBufferPointer<UInt8>
        private let condition = NSCondition()
        /// Guarded by `condition`.
        private var state = State.waiting
        /// Whether the caller's cursor took the thread's elements (guarded by `condition`).
        private var used = false
        /// The comma the thread parses from (or parsed from); the caller's cursor compares it
        /// with its position at every comma between two elements of an array.
        private let guess: Atomic<Int>
        /// Set when the caller no longer wants the thread's result; the thread stops at its
        /// next element.
        private let stopped = Atomic(false)

        /// Guesses the thread tries before it gives up.
        static let attempts = 8

        private enum State {
            case waiting
            case parsing
            case parsed(Rest)
            /// Failed at every guess, or taken, or given up by the caller.
            case done
        }

        /// The elements from ``comma`` to the array's end, the offset just after its `]`, and
        /// the deepest nesting inside them, counted from the array's own depth.
        struct Rest {
            var comma: Int
            var elements: [JSONValue]
            var end: Int
            var deepest: Int
        }

        private struct Stopped: Error {}

        /// The comma the thread parses from now: where the caller's cursor may take its result.
        var comma: Int { guess.load(ordering: .relaxed) }

        /// Whether the caller's cursor took the thread's elements (for tests).
        var wasUsed: Bool {
            condition.lock()
            defer { condition.unlock() }
            return used
        }

        /// Starts the thread when `input` is long enough and a comma between two objects lies
        /// past its middle; `nil` otherwise.
        static func start(_ input: UnsafeBufferPointer<UInt8>) -> SecondHalf? {
            guard input.count >= secondHalfBytes, let comma = guessComma(in: input, from: input.count / 2) else { return nil }
            let half = SecondHalf(input: input, comma: comma)
            let thread = Thread { half.parse() }
            thread.stackSize = 8 << 20
            thread.start()
            return half
        }

        private init(input: UnsafeBufferPointer<UInt8>, comma: Int) {
            self.input = input
            guess = Atomic(comma)
        }

        /// The first comma at or after `start` that has a `}` before it and a `{` after it,
        /// with only spaces between; within 64 KiB of the input's middle.
        static func guessComma(in input: UnsafeBufferPointer<UInt8>, from start: Int) -> Int? {
            func isSpace(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 }
            let end = min(input.count, input.count / 2 + 64 * 1024)
            var index = max(start - 1, 0)
            while index < end {
                defer { index += 1 }
                guard input[index] == UInt8(ascii: "}") else { continue }
                var comma = index + 1
                while comma < end, isSpace(input[comma]) { comma += 1 }
                guard comma < end, comma >= start, input[comma] == UInt8(ascii: ",") else { continue }
                var next = comma + 1
                while next < end, isSpace(input[next]) { next += 1 }
                if next < end, input[next] == UInt8(ascii: "{") { return comma }
            }
            return nil
        }

        /// The thread's work: the rest of the array from the guessed comma, then from the next
        /// guesses while they fail; unless the caller gave up before it began.
        private func parse() {
            condition.lock()
            guard case .waiting = state else {
                condition.unlock()
                return
            }
            state = .parsing
            condition.unlock()
            var comma = guess.load(ordering: .relaxed)
            var outcome: Rest?
            for attempt in 1...Self.attempts {
                do {
                    outcome = try rest(from: comma)
                    break
                } catch is Stopped {
                    break
                } catch {
                    guard attempt < Self.attempts, !stopped.load(ordering: .relaxed),
                          let next = Self.guessComma(in: input, from: comma + 1)
                    else { break }
                    comma = next
                    guess.store(comma, ordering: .relaxed)
                    // A caller waiting at the failed guess goes on by itself.
                    condition.lock()
                    condition.broadcast()
                    condition.unlock()
                }
            }
            condition.lock()
            state = outcome.map { .parsed($0) } ?? .done
            condition.broadcast()
            condition.unlock()
        }

        /// The elements of `, value, value ... ]` from `comma`.
        private func rest(from comma: Int) throws -> Rest {
            var cursor = Cursor(input: input)
            cursor.index = comma
            var elements: [JSONValue] = []
            while true {
                guard cursor.index < input.count, input[cursor.index] == UInt8(ascii: ",") else {
                    throw cursor.error("Expected ','")
                }
                cursor.index += 1
                if stopped.load(ordering: .relaxed) { throw Stopped() }
                cursor.skipWhitespace()
                elements.append(try cursor.parseValue(depth: 0))
                cursor.skipWhitespace()
                if cursor.index < input.count, input[cursor.index] == UInt8(ascii: "]") {
                    return Rest(comma: comma, elements: elements, end: cursor.index + 1, deepest: cursor.deepest)
                }
            }
        }

        /// What the thread parsed, for a cursor at `index` (a comma between two elements of an
        /// array whose elements are parsed at `depth`): waits while the thread parses from that
        /// comma; `nil` when the thread had not begun (it then never does), works from another
        /// comma, failed, or went deeper than the limit allows at `depth`.
        func take(at index: Int, depth: Int) -> Rest? {
            condition.lock()
            defer { condition.unlock() }
            while true {
                switch state {
                case .waiting:
                    state = .done
                    return nil
                case .parsing:
                    guard guess.load(ordering: .relaxed) == index else { return nil }
                    condition.wait()
                case .parsed(let rest):
                    guard rest.comma == index, depth + rest.deepest <= JSONParser.maximumDepth else { return nil }
                    state = .done
                    used = true
                    return rest
                case .done:
                    return nil
                }
            }
        }

        /// Returns once the thread has parsed (for tests: a caller that arrives at the comma
        /// only then always finds the thread's result).
        func waitUntilParsed() {
            condition.lock()
            defer { condition.unlock() }
            while true {
                switch state {
                case .waiting, .parsing: condition.wait()
                case .parsed, .done: return
                }
            }
        }

        /// Returns once the thread no longer reads the input (stopped at its next element, or
        /// never begun): the caller's buffer may go after this.
        func finish() {
            stopped.store(true, ordering: .relaxed)
            condition.lock()
            defer { condition.unlock() }
            if case .waiting = state {
                state = .done
                return
            }
            while case .parsing = state { condition.wait() }
        }
    }
}
