import CCurlLoader
import Testing

/// libcurl loaded at its first use (Sources/CCurlLoader): the install build starts without it
/// (CI checks its dynamic section), and every HTTP test in this bundle goes through these functions.
@Suite struct CurlLoaderTests {
    @Test func loadsLibcurlAndForwardsToIt() throws {
        #if os(Linux)
        #expect(ccurlloader_available() == 1)
        let version = try #require(ccurlloader_version())
        // curl_version() forwarded to the loaded library: "libcurl/8.1.2 OpenSSL/3.0.x ..."
        #expect(String(cString: version).hasPrefix("libcurl/"))
        #expect(ccurlloader_available() == 1)
        #else
        #expect(ccurlloader_available() == 0)
        #expect(ccurlloader_version() == nil)
        #endif
    }
}
