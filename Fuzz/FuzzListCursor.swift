// libFuzzer target: the list cursor. Any text either is rejected as a cursor with a clear
// error or names a key after which a listing of the namespace continues, returning only keys
// of that namespace that sort after it; any key encodes to a cursor that decodes back to the
// same bytes.
#if canImport(AgentMemoryJSON)
import AgentMemoryJSON
#endif
import AgentMemoryCore

let cursorNamespace = try! Namespace("cursor")
let foreignNamespace = try! Namespace("foreign")

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzListCursor(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: bytes(data, size), as: UTF8.self)
    do {
        let decoded = try ListCursor.decode(ListCursor.encode(afterKey: text))
        if !decoded.bytesEqual(text) { violated("encode/decode changed \(Array(text.utf8)) into \(Array(decoded.utf8))") }
    } catch {
        violated("a cursor made by encode does not decode: \(error)")
    }
    let after: String
    do { after = try ListCursor.decode(text) } catch let error as MemoryError {
        if error.code != .invalidArgument { violated("wrong error \(error)") }
        return 0
    } catch {
        violated("untyped error \(error)")
    }
    runBlocking {
        let store = InMemoryMemoryStore()
        do {
            for key in ["a", "b", "k1:", "zz", "\u{10FFFF}", "é", "e\u{301}"] { try await store.put(key, value: "x", in: cursorNamespace) }
            try await store.put("b2", value: "foreign", in: foreignNamespace)
            let page = try await store.list(in: cursorNamespace, prefix: nil, cursor: text, limit: 100)
            for record in page.records {
                if record.value != "x" { violated("listed another namespace's record \(record.key)") }
                if !after.bytesPrecede(record.key) { violated("\(record.key) does not sort after \(after)") }
            }
        } catch let error as MemoryError {
            if error.code != .invalidArgument { violated("wrong error \(error)") }
        } catch {
            violated("untyped error \(error)")
        }
    }
    return 0
}
