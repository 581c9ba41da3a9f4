import Foundation

/// Rotary embedding details beyond the base frequency: the pairing style and YaRN context
/// extension, computed the way llama.cpp does so positions rotate identically.
public struct RopeScaling: Sendable, Equatable {
    /// `interleaved` rotates (x[2i], x[2i+1]) (llama, deepseek); `neox` rotates
    /// (x[i], x[i + dims/2]) (qwen).
    public enum Style: Sendable, Equatable { case interleaved, neox }

    public let style: Style
    /// 1 / `rope.scaling.factor` (1 = no scaling).
    public let freqScale: Float
    /// YaRN's ramp mix (1 with YaRN, 0 otherwise).
    public let extFactor: Float
    /// Magnitude the rotated pairs are multiplied by.
    public let magnitude: Float
    /// YaRN's correction range in pair indices.
    public let corrLow: Float
    public let corrHigh: Float
    /// The attention logit scale multiplier YaRN asks for (DeepSeek's mscale²), 1 otherwise.
    public let attentionScale: Float

    public static func none(_ style: Style) -> RopeScaling {
        RopeScaling(style: style, freqScale: 1, extFactor: 0, magnitude: 1, corrLow: 0, corrHigh: 0, attentionScale: 1)
    }

    init(style: Style, freqScale: Float, extFactor: Float, magnitude: Float, corrLow: Float, corrHigh: Float,
         attentionScale: Float) {
        self.style = style
        self.freqScale = freqScale
        self.extFactor = extFactor
        self.magnitude = magnitude
        self.corrLow = corrLow
        self.corrHigh = corrHigh
        self.attentionScale = attentionScale
    }

    /// Reads `rope.scaling.*`. Only YaRN and linear scaling are understood.
    init(gguf: GGUFFile, arch: String, style: Style, ropeDims: Int, base: Float, deepseek2: Bool) throws {
        func key(_ k: String) -> String { "\(arch).\(k)" }
        let type = gguf.string(key("rope.scaling.type")) ?? "none"
        let factor = Float(gguf.double(key("rope.scaling.factor")) ?? 1)
        let attnFactor = Float(gguf.double(key("rope.scaling.attn_factor")) ?? 1)
        guard factor > 0 else { throw EngineError.invalidFile("implausible model hyper-parameter: rope.scaling.factor") }
        switch type {
        case "none", "":
            self = .none(style)
        case "linear":
            self.init(style: style, freqScale: 1 / factor, extFactor: 0, magnitude: attnFactor, corrLow: 0, corrHigh: 0,
                      attentionScale: 1)
        case "yarn":
            let fs = 1 / factor
            let nCtxOrig = Float(gguf.int(key("rope.scaling.original_context_length")) ?? gguf.int(key("context_length")) ?? 4096)
            // GGUF stores 0.1·mscale_all_dim; llama.cpp works with mscale_all_dim itself.
            let logMul = Float(gguf.double(key("rope.scaling.yarn_log_multiplier")) ?? 0) / 0.1
            func mscale(_ s: Float, _ m: Float) -> Float { s <= 1 ? 1 : 0.1 * m * logf(s) + 1 }
            var attn: Float
            if logMul != 0 {
                let m: Float = deepseek2 && logMul != 1 ? logMul : 1
                attn = mscale(factor, m) / mscale(factor, logMul)
            } else {
                attn = mscale(factor, 1)
            }
            attn *= 1 / (1 + 0.1 * logf(factor))
            attn *= attnFactor
            // ggml multiplies the rotation by (1 + 0.1·ln(1/fs)) when the ramp is on.
            let magnitude = attn * (1 + 0.1 * logf(1 / fs))
            var scale: Float = 1
            if deepseek2 {
                let m = magnitude * (1 + 0.1 * logMul * logf(1 / fs))
                scale = m * m
            }
            func corrDim(_ rot: Float) -> Float {
                Float(ropeDims) * logf(nCtxOrig / (rot * 2 * Float.pi)) / (2 * logf(base))
            }
            let low = max(0, floorf(corrDim(32)))
            let high = min(Float(ropeDims - 1), ceilf(corrDim(1)))
            self.init(style: style, freqScale: fs, extFactor: 1, magnitude: magnitude, corrLow: low, corrHigh: high,
                      attentionScale: scale)
        default:
            throw EngineError.unsupported("rope scaling '\(type)' is not supported")
        }
    }

    /// cos/sin pairs for one position: `t[2i], t[2i+1]` for rotation pair i.
    func table(position: Int, ropeDims: Int, base: Float, into t: UnsafeMutablePointer<Float>) {
        let thetaScale = powf(base, -2 / Float(ropeDims))
        var thetaExtrap = Float(position)
        for i in 0..<ropeDims / 2 {
            var theta = freqScale * thetaExtrap
            if extFactor != 0 {
                let y = (Float(i) - corrLow) / max(0.001, corrHigh - corrLow)
                let ramp = (1 - min(1, max(0, y))) * extFactor
                theta = theta * (1 - ramp) + thetaExtrap * ramp
            }
            t[2 * i] = cosf(theta) * magnitude
            t[2 * i + 1] = sinf(theta) * magnitude
            thetaExtrap *= thetaScale
        }
    }

    /// Rotates `ropeDims` values of each of `heads` vectors (stride `stride`, starting at `x`).
    func apply(_ x: UnsafeMutablePointer<Float>, heads: Int, stride: Int, ropeDims: Int, cosSin: UnsafePointer<Float>) {
        let half = ropeDims / 2
        for h in 0..<heads {
            let v = x + h * stride
            for i in 0..<half {
                let c = cosSin[2 * i], s = cosSin[2 * i + 1]
                let (a, b) = style == .interleaved ? (2 * i, 2 * i + 1) : (i, i + half)
                let x0 = v[a], x1 = v[b]
                v[a] = x0 * c - x1 * s
                v[b] = x0 * s + x1 * c
            }
        }
    }
}
