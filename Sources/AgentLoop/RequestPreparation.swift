import AgentMemoryCore
import AgentMemoryJSON
import ClaudeClient
import ClaudeMessages

/// A request ready to send, with what the loop needs after the response.
struct PreparedRequest {
    var request: MessageRequest
    var betas: [String]
    /// The transcript index of each message sent.
    var sentIndices: [Int]
    var marks: ContextMarks
    var window: WindowReport?
}

/// The local estimate's scale, learned from `count_tokens` answers during a run.
struct TokenCalibration {
    var tokensPerEstimate = 1.0
    var calibrated = false
}

extension AgentLoop {
    /// The beta headers the configured context management needs.
    public var requestBetas: [String] { configuration.contextManagement?.betas ?? [] }

    /// The request for `transcript`: the messages from the latest compaction on, trimmed by the
    /// client-side window when one is configured, with `context_management` when configured.
    func prepareRequest(_ transcript: SessionTranscript, calibration: inout TokenCalibration) async throws -> PreparedRequest {
        let (base, view) = ConversationView.requestMessages(transcript.messages)
        var marks = ContextMarks(compactedBefore: base)
        let request = makeRequest(view)
        guard let window = configuration.contextWindow else {
            return PreparedRequest(request: request, betas: requestBetas, sentIndices: Array(base..<(base + view.count)), marks: marks)
        }
        var empty = request
        empty.messages = []
        let fixedBytes = empty.jsonValue.jsonByteCount
        let protected = Set(
            configuration.contextManagement?.excludedTools(offeredTools: executor.toolDefinitions.map(\.name))
                ?? executor.toolDefinitions.map(\.name).filter { ContextManagement.memoryToolNames.contains($0) })
        let known = sizeCache.sizes(session: transcript.id, base: base)
        var planner = WindowPlanner(
            view: view, protectedTools: protected, placeholder: window.placeholder,
            known: (
                Dictionary(uniqueKeysWithValues: known.original.map { ($0.key - base, $0.value) }),
                Dictionary(uniqueKeysWithValues: known.cleared.map { ($0.key - base, $0.value) })))
        defer {
            let measured = planner.measured
            sizeCache.keep(
                session: transcript.id, base: base,
                original: Dictionary(uniqueKeysWithValues: measured.original.map { ($0.key + base, $0.value) }),
                cleared: Dictionary(uniqueKeysWithValues: measured.cleared.map { ($0.key + base, $0.value) }))
        }
        var plan = WindowPlan()
        let saved = transcript.contextMarks
        if saved.compactedBefore == base {
            plan.clearedBefore = max(0, saved.clearedBefore - base)
            if let dropped = saved.dropped, dropped.lowerBound == base + 1 { plan.dropEnd = dropped.upperBound - base }
            if !planner.isValid(plan) { plan = WindowPlan() }
        }
        func estimate(_ plan: WindowPlan) -> Int {
            Int((Double(fixedBytes + planner.bytes(plan)) / 4 * calibration.tokensPerEstimate).rounded(.up))
        }
        let budget = Double(window.maxInputTokens)
        var counted: Int?
        var calls = 0
        var mustShrink = false
        while true {
            var estimated = estimate(plan)
            var moved = false
            if mustShrink || Double(estimated) > window.countAbove * budget {
                while Double(estimated) > window.trimTo * budget, let next = planner.advance(plan) {
                    plan = next
                    estimated = estimate(plan)
                    moved = true
                }
            }
            let wantsCount = moved || mustShrink || Double(estimated) > window.countAbove * budget
                || (!calibration.calibrated && Double(estimated) > 0.5 * budget)
            guard window.countsTokens, wantsCount, calls < 4 else { break }
            var counting = request
            counting.messages = planner.messages(plan).messages
            let count = try await client.countTokens(counting, betas: requestBetas)
            calls += 1
            calibration.tokensPerEstimate = Double(count) / max(1, Double(fixedBytes + planner.bytes(plan)) / 4)
            calibration.calibrated = true
            counted = count
            if count <= window.maxInputTokens || planner.advance(plan) == nil { break }
            mustShrink = true
        }
        let inputTokens = counted ?? estimate(plan)
        if inputTokens > window.maxInputTokens {
            throw ContextWindowError(
                message: "the request needs \(inputTokens) input tokens\(counted == nil ? " (estimated)" : "") even with old tool results "
                    + "cleared and old turns left out, over the context budget of \(window.maxInputTokens) tokens: the system prompt, "
                    + "the tools, the first turn and the latest two messages are always sent; raise the budget")
        }
        let (messages, results, thinking) = planner.messages(plan)
        var sentIndices: [Int] = []
        for index in view.indices where !(1..<max(1, plan.dropEnd)).contains(index) { sentIndices.append(base + index) }
        marks.clearedBefore = plan.clearedBefore > 0 ? base + plan.clearedBefore : 0
        marks.dropped = plan.dropEnd > 1 ? (base + 1)..<(base + plan.dropEnd) : nil
        var windowed = request
        windowed.messages = messages
        let report = WindowReport(
            viewMessages: view.count, sentMessages: messages.count, clearedToolResults: results, droppedThinkingBlocks: thinking,
            inputTokens: inputTokens, counted: counted != nil, countCalls: calls,
            tokensSaved: max(0, estimate(WindowPlan()) - estimate(plan)))
        return PreparedRequest(request: windowed, betas: requestBetas, sentIndices: sentIndices, marks: marks, window: report)
    }

    /// The transcript index before which the server's `clear_tool_uses` cleared results: past
    /// the result of the `count`-th oldest call it may clear in `prepared`.
    func serverClearedBefore(_ count: Int, in prepared: PreparedRequest) -> Int {
        guard count > 0 else { return 0 }
        let excluded = Set(configuration.contextManagement?.excludedTools(offeredTools: executor.toolDefinitions.map(\.name)) ?? [])
        var seen = 0
        for (position, message) in prepared.request.messages.enumerated() {
            seen += message.toolUses.filter { !excluded.contains($0.name) }.count
            if seen >= count {
                let resultPosition = min(position + 1, prepared.sentIndices.count - 1)
                return prepared.sentIndices[resultPosition] + 1
            }
        }
        return (prepared.sentIndices.last ?? -1) + 1
    }
}
