/// Mixture-of-experts hyper-parameters (GGUF `<arch>.expert_*`), shared by the DeepSeek,
/// Qwen-MoE and Mixtral layouts.
public struct MoEConfig: Sendable, Equatable {
    /// How router logits become expert scores (`expert_gating_func`: 1 softmax, 2 sigmoid).
    public enum Gating: Sendable, Equatable { case softmax, sigmoid }

    public let expertCount: Int
    /// Routed experts per token (top-k).
    public let expertsUsed: Int
    /// Always-on shared experts (DeepSeek); their FFN is `sharedFeedForwardLength` wide.
    public let sharedCount: Int
    public let expertFeedForwardLength: Int
    public let sharedFeedForwardLength: Int
    /// Blocks before the first MoE block that use a dense FFN (`leading_dense_block_count`).
    public let leadingDenseBlocks: Int
    public let gating: Gating
    /// Divide the chosen experts' weights by their sum (`expert_weights_norm`).
    public let normalizeWeights: Bool
    /// Multiplies the weights after normalisation (`expert_weights_scale`; 0 or 1 = none).
    public let weightsScale: Float
    /// Group-limited routing: experts split into `groupCount` groups, only the best
    /// `groupsUsed` groups (by the sum of their two best scores) may be chosen.
    public let groupCount: Int
    public let groupsUsed: Int
    /// Qwen2-MoE: the shared expert's output is scaled by sigmoid(w · x).
    public let sharedExpertGate: Bool

    public init(expertCount: Int, expertsUsed: Int, sharedCount: Int, expertFeedForwardLength: Int,
                sharedFeedForwardLength: Int, leadingDenseBlocks: Int, gating: Gating, normalizeWeights: Bool,
                weightsScale: Float, groupCount: Int = 1, groupsUsed: Int = 1, sharedExpertGate: Bool = false) {
        self.expertCount = expertCount
        self.expertsUsed = expertsUsed
        self.sharedCount = sharedCount
        self.expertFeedForwardLength = expertFeedForwardLength
        self.sharedFeedForwardLength = sharedFeedForwardLength
        self.leadingDenseBlocks = leadingDenseBlocks
        self.gating = gating
        self.normalizeWeights = normalizeWeights
        self.weightsScale = weightsScale
        self.groupCount = groupCount
        self.groupsUsed = groupsUsed
        self.sharedExpertGate = sharedExpertGate
    }

    /// Whether block `layer` has routed experts.
    public func isMoE(layer: Int) -> Bool { layer >= leadingDenseBlocks }

    /// True when group-limited routing actually restricts the choice.
    var groupLimited: Bool { groupCount > 1 && groupsUsed < groupCount }
}
