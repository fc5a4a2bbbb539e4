import AgentMemoryJSON
import AgentMemory
import Foundation

/// The LoCoMo retrieval set: dialogue turns to store and questions whose answers are in
/// known turns.
///
/// Format from the LoCoMo data (snap-research/locomo, `data/locomo10.json`, ACL 2024), as
/// described in `../shared/data/README.md`: an object keyed by conversation id, each with
/// `session_N` (turns: `speaker`, `dia_id`, `text`), `session_N_date_time` and `qa`
/// (`question`, `evidence`: the `dia_id`s that answer it, `category` 1 to 5).
struct RetrievalData: Sendable {
    /// One conversation: its turns as memories (key, text), in order.
    struct Conversation: Sendable {
        var id: String
        var memories: [(key: String, text: String)]
    }

    /// One question asked of a conversation, with the keys of the turns that answer it.
    struct Question: Sendable {
        var conversation: String
        var text: String
        var category: Int
        var evidence: Set<String>
    }

    var conversations: [Conversation]
    var questions: [Question]

    /// Reads the file: each turn becomes the memory `<conversation>/<dia_id>` →
    /// `"<speaker> (<session date>): <text>"`; questions of categories 1 to 4 are kept
    /// (category 5 is adversarial: the conversation does not answer it).
    init(path: String) throws {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw BenchError("cannot read the retrieval data at \(path)")
        }
        guard let root = try JSONValue(parsing: data).objectValue else {
            throw BenchError("\(path): expected a JSON object keyed by conversation id")
        }
        conversations = []
        questions = []
        for (id, body) in root.members.sorted(by: { $0.key < $1.key }) {
            var memories: [(key: String, text: String)] = []
            var session = 1
            while let turns = body["session_\(session)"]?.arrayValue {
                let date = body["session_\(session)_date_time"]?.stringValue ?? ""
                for turn in turns {
                    guard let dia = turn["dia_id"]?.stringValue, let speaker = turn["speaker"]?.stringValue,
                          let text = turn["text"]?.stringValue else {
                        throw BenchError("\(path): conversation \(id), session \(session): a turn lacks dia_id, speaker or text")
                    }
                    memories.append((key: "\(id)/\(dia)", text: "\(speaker) (\(date)): \(text)"))
                }
                session += 1
            }
            guard !memories.isEmpty else { throw BenchError("\(path): conversation \(id) has no session_1") }
            conversations.append(Conversation(id: id, memories: memories))
            for qa in body["qa"]?.arrayValue ?? [] {
                guard let category = qa["category"]?.intValue, (1...4).contains(category),
                      let question = qa["question"]?.stringValue else { continue }
                // A few entries hold several ids in one string ("D8:6; D9:17").
                let ids = (qa["evidence"]?.arrayValue ?? []).compactMap(\.stringValue).flatMap {
                    $0.split(whereSeparator: { $0 == ";" || $0 == "," || $0.isWhitespace })
                }
                questions.append(Question(
                    conversation: id, text: question, category: category, evidence: Set(ids.map { "\(id)/\($0)" })))
            }
        }
        guard !questions.isEmpty else { throw BenchError("\(path): no questions of categories 1 to 4") }
    }
}
