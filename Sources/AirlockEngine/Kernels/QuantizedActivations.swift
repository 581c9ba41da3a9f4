/// Activations quantized once per row to int8 in blocks of 32, the format every quantized
/// weight kernel consumes: `qs` int8 values, `d` the block scale (rounded to fp16 like
/// ggml's Q8_0/Q8_1 so results track llama.cpp), `s` = d·Σqs (the Q8_1 sum used by
/// weight formats with a minimum/offset term).
///
/// Storage is allocated once for a maximum number of rows and reused for every matmul.
/// Scales are stored block-major (`d[block * scaleStride + row]`) so a kernel serving four
/// token rows loads their four scales with one vector load. The stride is the row count of
/// the current contents, not the capacity: a decode step's scales are then contiguous (72
/// bytes for 576 columns) instead of one cache line per block 1 KB apart, so the worker that
/// did not quantize them fetches a few lines from the other core instead of ~40 per matmul.
public final class QuantizedActivations: @unchecked Sendable {
    // Owned buffers, used by one forward pass at a time (the scheduler thread and its pool).
    public let capacityRows: Int
    public let rowLength: Int
    public let blocksPerRow: Int
    public private(set) var rows: Int = 0
    let qs: UnsafeMutablePointer<Int8>
    let d: UnsafeMutablePointer<Float>
    let s: UnsafeMutablePointer<Float>

    public init(rows: Int, rowLength: Int) {
        precondition(rowLength % 32 == 0, "activation rows are quantized in blocks of 32")
        capacityRows = max(rows, 1)
        self.rowLength = rowLength
        blocksPerRow = rowLength / 32
        qs = .allocate(capacity: capacityRows * rowLength)
        d = .allocate(capacity: capacityRows * blocksPerRow)
        s = .allocate(capacity: capacityRows * blocksPerRow)
    }

    deinit {
        qs.deallocate()
        d.deallocate()
        s.deallocate()
    }

    @inline(__always) func qsRow(_ r: Int) -> UnsafeMutablePointer<Int8> { qs + r * rowLength }
    /// Distance between consecutive blocks' scales of one row: the row count set by the last
    /// `quantize` or `prepare` (every reader reads rows below it).
    private(set) var scaleStride: Int = 1
    /// Row r's scales: block b at `dRow(r)[b * scaleStride]`.
    @inline(__always) func dRow(_ r: Int) -> UnsafeMutablePointer<Float> { d + r }
    @inline(__always) func sRow(_ r: Int) -> UnsafeMutablePointer<Float> { s + r }

    /// Quantizes `count` rows of `rowLength` floats (row stride `stride`).
    public func quantize(_ x: UnsafePointer<Float>, count: Int, stride: Int) {
        precondition(count <= capacityRows)
        rows = count
        scaleStride = max(count, 1)
        for r in 0..<count {
            Self.quantizeRow(x + r * stride, rowLength, qsRow(r), dRow(r), sRow(r), scaleStride)
        }
    }

    /// Declares `count` rows valid before `quantizeBlock` fills them in parallel.
    func prepare(rows count: Int) {
        precondition(count <= capacityRows)
        rows = count
        scaleStride = max(count, 1)
    }

    /// Quantizes block `b` of row `r` from `x` (the row's floats).
    @inline(__always)
    func quantizeBlock(_ x: UnsafePointer<Float>, row r: Int, block b: Int) {
        Self.quantizeRow(x + b * 32, 32, qsRow(r) + b * 32, dRow(r) + b * scaleStride, sRow(r) + b * scaleStride, scaleStride)
    }

    static func quantizeRow(_ x: UnsafePointer<Float>, _ n: Int,
                            _ qs: UnsafeMutablePointer<Int8>, _ dOut: UnsafeMutablePointer<Float>,
                            _ sOut: UnsafeMutablePointer<Float>, _ scaleStride: Int) {
        var b = 0
        while b < n / 32 {
            let xb = x + b * 32
            var amax: Float = 0
            for j in 0..<32 { amax = max(amax, abs(xb[j])) }
            let dv = amax / 127
            let id: Float = amax != 0 ? 127 / amax : 0
            var sum: Int32 = 0
            let qb = qs + b * 32
            for j in 0..<32 {
                // Round half to even, as the SIMD path of the reference does.
                let q = Int8((xb[j] * id).rounded(.toNearestOrEven))
                qb[j] = q
                sum &+= Int32(q)
            }
            dOut[b * scaleStride] = HalfFloat.roundToF16(dv)
            sOut[b * scaleStride] = HalfFloat.roundToF16(dv * Float(sum))
            b += 1
        }
    }
}
