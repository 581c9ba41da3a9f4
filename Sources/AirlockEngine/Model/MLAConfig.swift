/// DeepSeek-V2/V3 multi-head latent attention: keys and values are reconstructed per head
/// from a `kvLoraRank`-wide latent plus a `ropeDims`-wide shared rotary key.
///
/// With `absorbed` weights (`attn_k_b`/`attn_v_b`) the per-head up-projections are folded
/// into the query and the output, so the cache holds only `kvLoraRank + ropeDims` values
/// per token per layer. The older layout (`attn_kv_b`) decompresses keys and values and
/// caches them per head like ordinary attention.
public struct MLAConfig: Sendable, Equatable {
    /// Rank of the query down-projection; 0 when queries come straight from `attn_q` (V2-Lite).
    public let qLoraRank: Int
    public let kvLoraRank: Int
    public let nopeDims: Int
    public let ropeDims: Int
    public let valueHeadDim: Int
    public let absorbed: Bool

    /// Query/key head size as the model was trained (nope + rope).
    public var keyHeadDim: Int { nopeDims + ropeDims }
}
