import CProcessMemory
import Testing

/// The C allocator's settings for the CLI's plain command lines (Sources/CProcessMemory):
/// glibc must take both, or the process keeps its defaults without a word.
@Suite struct ProcessMemoryTests {
    @Test func glibcTakesBothSettings() {
        #if canImport(Glibc)
        #expect(cprocessmemory_keep_freed_memory() == 1)
        #else
        #expect(cprocessmemory_keep_freed_memory() == 0)
        #endif
    }
}
