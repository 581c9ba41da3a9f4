#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One sequence's keys and values, fp16, laid out [layer][position][kvDim] for K and for V.
/// The memory is an anonymous mapping sized for the sequence's maximum length; pages are
/// only committed as positions are written, so RSS tracks tokens actually cached.
final class KVCache: @unchecked Sendable {
    // Used only by the scheduler thread (and its worker pool inside one forward pass).
    let layers: Int
    let kvDim: Int
    let capacity: Int
    private(set) var keys: UnsafeMutablePointer<UInt16>
    private(set) var values: UnsafeMutablePointer<UInt16>
    private let mappedBytes: Int
    /// Number of positions holding valid entries.
    var length = 0

    init(layers: Int, kvDim: Int, capacity: Int) throws {
        self.layers = layers
        self.kvDim = kvDim
        self.capacity = capacity
        let bytes = layers * capacity * kvDim * 2
        mappedBytes = max(bytes, 4096)
        guard let k = mmap(nil, mappedBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0),
              k != MAP_FAILED else { throw EngineError(.invalidRequest, "cannot allocate KV cache") }
        guard let v = mmap(nil, mappedBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0),
              v != MAP_FAILED else {
            munmap(k, mappedBytes)
            throw EngineError(.invalidRequest, "cannot allocate KV cache")
        }
        keys = k.assumingMemoryBound(to: UInt16.self)
        values = v.assumingMemoryBound(to: UInt16.self)
    }

    deinit {
        munmap(keys, mappedBytes)
        munmap(values, mappedBytes)
    }

    @inline(__always) func key(layer: Int, position: Int) -> UnsafeMutablePointer<UInt16> {
        keys + (layer * capacity + position) * kvDim
    }

    @inline(__always) func value(layer: Int, position: Int) -> UnsafeMutablePointer<UInt16> {
        values + (layer * capacity + position) * kvDim
    }

    /// Bytes resident for `length` positions (for memory accounting).
    var usedBytes: Int { 2 * layers * length * kvDim * 2 }
}
