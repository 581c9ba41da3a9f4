import Foundation

/// Chat prompt formats. The GGUF's Jinja template is not executed; it is only used to
/// recognise the family (and, for ChatML, the default system prompt it injects).
/// Rendering yields segments: special tokens are looked up by exact text, message text is
/// tokenized without special-token parsing so user content cannot forge turn markers.
public enum ChatTemplate: String, Sendable, CaseIterable {
    case chatML = "chatml"
    case llama3 = "llama3"
    case deepSeekV3 = "deepseek-v3"

    public enum Segment: Equatable, Sendable {
        case special(String)
        case text(String)
    }

    /// By name ("chatml", "llama3", "deepseek-v3", case-insensitive, a few aliases).
    public init?(name: String) {
        switch name.lowercased() {
        case "chatml", "smollm", "qwen", "qwen2": self = .chatML
        case "llama3", "llama-3", "llama3.1": self = .llama3
        case "deepseek-v3", "deepseek3", "deepseek-r1": self = .deepSeekV3
        default: return nil
        }
    }

    /// Recognises the family from a GGUF `tokenizer.chat_template`.
    public static func detect(fromTemplate template: String) -> ChatTemplate? {
        if template.contains("<|im_start|>") { return .chatML }
        if template.contains("<|start_header_id|>") { return .llama3 }
        if template.contains("<｜Assistant｜>") || template.contains("<｜User｜>") { return .deepSeekV3 }
        return nil
    }

    /// The system prompt a ChatML template adds when the conversation has none.
    public static func defaultSystemPrompt(fromTemplate template: String) -> String? {
        let marker = "<|im_start|>system\n"
        guard let start = template.range(of: marker),
              let end = template.range(of: "<|im_end|>", range: start.upperBound..<template.endIndex) else { return nil }
        let prompt = String(template[start.upperBound..<end.lowerBound])
        // A template that interpolates the system message has Jinja here, not a literal.
        return prompt.contains("{") || prompt.contains("'") ? nil : prompt
    }

    /// Renders the conversation followed by the assistant's generation prompt.
    public func render(_ messages: [ChatMessage], defaultSystemPrompt: String? = nil) -> [Segment] {
        var out: [Segment] = []
        switch self {
        case .chatML:
            if let sys = defaultSystemPrompt, messages.first?.role != "system" {
                out += [.special("<|im_start|>"), .text("system\n" + sys), .special("<|im_end|>"), .text("\n")]
            }
            for m in messages {
                out += [.special("<|im_start|>"), .text(m.role + "\n" + m.content), .special("<|im_end|>"), .text("\n")]
            }
            out += [.special("<|im_start|>"), .text("assistant\n")]
        case .llama3:
            out.append(.special("<|begin_of_text|>"))
            for m in messages {
                out += [.special("<|start_header_id|>"), .text(m.role), .special("<|end_header_id|>"),
                        .text("\n\n" + m.content.trimmingWhitespace()), .special("<|eot_id|>")]
            }
            out += [.special("<|start_header_id|>"), .text("assistant"), .special("<|end_header_id|>"), .text("\n\n")]
        case .deepSeekV3:
            out.append(.special("<｜begin▁of▁sentence｜>"))
            let system = messages.filter { $0.role == "system" }.map(\.content).joined(separator: "\n\n")
            if !system.isEmpty { out.append(.text(system)) }
            for m in messages where m.role != "system" {
                if m.role == "assistant" {
                    out += [.special("<｜Assistant｜>"), .text(m.content), .special("<｜end▁of▁sentence｜>")]
                } else {
                    out += [.special("<｜User｜>"), .text(m.content)]
                }
            }
            out.append(.special("<｜Assistant｜>"))
        }
        return out
    }
}

/// One chat message (OpenAI roles: system, user, assistant, tool).
public struct ChatMessage: Sendable, Equatable {
    public var role: String
    public var content: String

    public init(role: String, content: String) {
        self.role = role
        self.content = content
    }
}

extension String {
    func trimmingWhitespace() -> String {
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }) else { return "" }
        let last = scalars.lastIndex(where: { !$0.properties.isWhitespace })!
        return String(scalars[first...last])
    }
}
