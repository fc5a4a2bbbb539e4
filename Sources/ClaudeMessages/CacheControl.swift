import AgentMemoryJSON

/// Prompt-caching breakpoints (`cache_control`) for tools, system blocks and message blocks.
public enum CacheControl {
    /// `{"type": "ephemeral"}`: the default five-minute cache.
    public static let ephemeral: JSONValue = ["type": "ephemeral"]

    /// `{"type": "ephemeral", "ttl": ttl}`, for a `ttl` such as `"5m"` or `"1h"`.
    public static func ephemeral(ttl: String) -> JSONValue {
        ["type": "ephemeral", "ttl": .string(ttl)]
    }
}

extension ToolDefinition {
    /// A copy of this definition with a `cache_control` breakpoint (ephemeral by default).
    public func withCacheControl(_ cacheControl: JSONValue = CacheControl.ephemeral) -> ToolDefinition {
        var copy = self
        copy.cacheControl = cacheControl
        return copy
    }
}

extension ContentBlock {
    /// A copy of this block with a `cache_control` breakpoint (ephemeral by default).
    public func withCacheControl(_ cacheControl: JSONValue = CacheControl.ephemeral) -> ContentBlock {
        var copy = self
        copy.cacheControl = cacheControl
        return copy
    }
}

extension Message {
    /// A copy of this message whose last block carries a `cache_control` breakpoint (plain text
    /// content becomes one text block so that it can carry one).
    public func withCacheControlOnLastBlock(_ cacheControl: JSONValue = CacheControl.ephemeral) -> Message {
        var copy = self
        var blocks = self.blocks
        guard let last = blocks.popLast() else { return copy }
        copy.content = .blocks(blocks + [last.withCacheControl(cacheControl)])
        return copy
    }
}
