/// A 2-D weight tensor viewed as `rows` output rows of `cols` inputs (GGUF dims[1], dims[0]).
public struct WeightMatrix: @unchecked Sendable {
    // Points into the read-only model mapping, which outlives every model that uses it.
    public let type: GGMLType
    public let data: UnsafeRawPointer
    public let rows: Int
    public let cols: Int
    public let rowBytes: Int
    /// The rows rearranged for the four-row Q4_1 decode kernel (model weights on the VNNI
    /// path; see `RepackedRows`). Holds the copy's memory for as long as the matrix lives.
    let repacked: RepackedRows?
    /// `repacked`'s memory and whole rows as plain values, for the decode path: both workers
    /// read the same matrix at once, and going through the object's reference count from
    /// both cores moved its cache line back and forth at every claim (~7% of decode).
    let repackedBase: UnsafeRawPointer?
    let repackedRows: Int

    public init(type: GGMLType, data: UnsafeRawPointer, rows: Int, cols: Int) {
        self.type = type
        self.data = data
        self.rows = rows
        self.cols = cols
        self.rowBytes = type.rowBytes(cols) ?? 0
        self.repacked = nil
        self.repackedBase = nil
        self.repackedRows = 0
    }

    /// The same matrix with a repacked copy for decode, when `RepackedRows` makes one.
    init(repacking w: WeightMatrix) {
        self.type = w.type
        self.data = w.data
        self.rows = w.rows
        self.cols = w.cols
        self.rowBytes = w.rowBytes
        let r = RepackedRows.enabled ? RepackedRows(w) : nil
        self.repacked = r
        self.repackedBase = r?.base
        self.repackedRows = r?.rows ?? 0
    }

    /// `repack: false` for a matrix only ever read a row at a time (an untied embedding).
    init(_ t: GGUFTensor, expectRows: Int? = nil, expectCols: Int? = nil, repack: Bool = true) throws {
        guard t.dims.count <= 2 || t.dims.dropFirst(2).allSatisfy({ $0 == 1 }) else {
            throw EngineError.invalidFile("tensor '\(t.name)' is not a matrix")
        }
        let rows = t.dims.count > 1 ? t.dims[1] : 1
        if let r = expectRows, r != rows {
            throw EngineError.invalidFile("tensor '\(t.name)' has \(rows) rows, expected \(r)")
        }
        if let c = expectCols, c != t.dims[0] {
            throw EngineError.invalidFile("tensor '\(t.name)' has \(t.dims[0]) columns, expected \(c)")
        }
        if t.type != .f32 && t.type != .f16 && t.type != .bf16 && t.dims[0] % 32 != 0 {
            throw EngineError.unsupported("tensor '\(t.name)' row length is not a multiple of 32")
        }
        let plain = WeightMatrix(type: t.type, data: t.data, rows: rows, cols: t.dims[0])
        if repack { self.init(repacking: plain) } else { self = plain }
    }

    @inline(__always) func row(_ i: Int) -> UnsafeRawPointer { data + i * rowBytes }

    /// Where a decode step reads row `i` (its group in the repacked copy when there is one).
    func decodeRow(_ i: Int) -> UnsafeRawPointer {
        if let p = repackedBase, i < repackedRows { return p + i * rowBytes }
        return row(i)
    }

    /// Dequantises row `i` into `y` (embedding lookup).
    func dequantizeRow(_ i: Int, into y: UnsafeMutablePointer<Float>) {
        Dequantize.row(type, row(i), cols, into: y)
    }
}
