#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One sequence's keys and values, fp16, laid out [layer][position][width] for K and for V.
/// The widths depend on the attention: all KV heads for standard attention, the latent plus
/// the rotary key for absorbed MLA (whose values are the latent part of the keys, so its
/// value width is 0). The memory is an anonymous mapping sized for the sequence's maximum
/// length; pages are only committed as positions are written, so RSS tracks tokens cached.
final class KVCache: @unchecked Sendable {
    // Used only by the scheduler thread (and its worker pool inside one forward pass).
    let layers: Int
    let keyWidth: Int
    let valueWidth: Int
    let capacity: Int
    private(set) var keys: UnsafeMutablePointer<UInt16>
    private(set) var values: UnsafeMutablePointer<UInt16>
    private let keyBytes: Int
    private let valueBytes: Int
    /// Number of positions holding valid entries.
    var length = 0

    convenience init(layers: Int, kvDim: Int, capacity: Int) throws {
        try self.init(layers: layers, keyWidth: kvDim, valueWidth: kvDim, capacity: capacity)
    }

    init(layers: Int, keyWidth: Int, valueWidth: Int, capacity: Int) throws {
        self.layers = layers
        self.keyWidth = keyWidth
        self.valueWidth = valueWidth
        self.capacity = capacity
        keyBytes = max(layers * capacity * keyWidth * 2, 4096)
        valueBytes = max(layers * capacity * valueWidth * 2, 4096)
        guard let k = mmap(nil, keyBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0),
              k != MAP_FAILED else { throw EngineError(.invalidRequest, "cannot allocate KV cache") }
        guard let v = mmap(nil, valueBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0),
              v != MAP_FAILED else {
            munmap(k, keyBytes)
            throw EngineError(.invalidRequest, "cannot allocate KV cache")
        }
        keys = k.assumingMemoryBound(to: UInt16.self)
        values = v.assumingMemoryBound(to: UInt16.self)
    }

    deinit {
        munmap(keys, keyBytes)
        munmap(values, valueBytes)
    }

    @inline(__always) func key(layer: Int, position: Int) -> UnsafeMutablePointer<UInt16> {
        keys + (layer * capacity + position) * keyWidth
    }

    @inline(__always) func value(layer: Int, position: Int) -> UnsafeMutablePointer<UInt16> {
        values + (layer * capacity + position) * valueWidth
    }

    /// Bytes resident for `length` positions (for memory accounting).
    var usedBytes: Int { layers * length * (keyWidth + valueWidth) * 2 }
}
