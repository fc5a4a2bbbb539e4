import AgentMemoryCore
import Testing

/// Percent-encoding without Foundation: what store URLs and memory paths decode, and how a
/// URL's user and database are printed.
@Suite("Percent coding")
struct PercentCodingTests {
    @Test func decodingReplacesEachEscapeWithItsByte() {
        #expect(PercentCoding.decoded("agent%40crew") == "agent@crew")
        #expect(PercentCoding.decoded("p%3Ass%2fw") == "p:ss/w")
        #expect(PercentCoding.decoded("%C3%A9mile%20%E2%9C%93") == "émile ✓")
        #expect(PercentCoding.decoded("plain-text_~.") == "plain-text_~.")
        #expect(PercentCoding.decoded("") == "")
        #expect(PercentCoding.decoded("100%25") == "100%")
        // Not a plus for a space: that is form encoding, not a URL's.
        #expect(PercentCoding.decoded("a+b") == "a+b")
    }

    @Test(arguments: ["%", "%4", "abc%", "%zz", "%4g", "%G0", "%FF", "%C3", "%C3%28"])
    func aBrokenEscapeOrBytesThatAreNotUTF8DecodeToNothing(text: String) {
        #expect(PercentCoding.decoded(text) == nil)
    }

    @Test func lenientDecodingKeepsABrokenEscapeAsItIs() {
        #expect(PercentCoding.decodedBytes(Array("a%2e%zz%".utf8)) == Array("a.%zz%".utf8))
        #expect(PercentCoding.decodedBytes(Array("%2E%2e".utf8)) == Array("..".utf8))
        #expect(PercentCoding.decodedBytes(Array("%4%41".utf8)) == Array("%4A".utf8))
    }

    @Test func encodingKeepsOnlyUnreservedCharacters() {
        #expect(PercentCoding.encoded("agent@crew") == "agent%40crew")
        #expect(PercentCoding.encoded("AZaz09-._~") == "AZaz09-._~")
        #expect(PercentCoding.encoded("émile ✓/?#%") == "%C3%A9mile%20%E2%9C%93%2F%3F%23%25")
    }

    @Test func encodingThenDecodingGivesTheTextBack() {
        var generator = SystemRandomNumberGenerator()
        let alphabet = Array("aZ09-._~ @:/?#[]!$&'()*+,;=%\"<>\\^`{|}éüß€✓🧠\u{0}\u{7F}")
        for _ in 0..<500 {
            let text = String((0..<Int.random(in: 0...24, using: &generator)).map { _ in alphabet.randomElement(using: &generator)! })
            #expect(PercentCoding.decoded(PercentCoding.encoded(text)) == text)
        }
    }
}
