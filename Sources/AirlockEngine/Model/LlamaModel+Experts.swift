import Foundation

/// The mixture-of-experts FFN. Tokens are routed one by one, then grouped by expert: each
/// chosen expert runs once over all the batch rows that picked it, and all experts' gate/up
/// (then down) projections go to the worker pool as one job, so every expert's weights are
/// read once per step however many tokens chose it. Shared experts run densely.
extension LlamaModel {
    func expertFFN(_ f: ExpertFFN, n: Int) {
        let c = config, s = scratch, moe = c.moe!
        let e = c.embeddingLength, k = moe.expertsUsed, ff = moe.expertFeedForwardLength

        // Route every row.
        matmul([.init(weights: f.router, out: s.routerLogits, outStride: moe.expertCount)], x: s.xb, xStride: e, n: n)
        for i in 0..<n {
            Router.route(s.routerLogits + i * moe.expertCount, bias: f.selectionBias.map { UnsafePointer($0) }, moe,
                         scratch: s.routeScratch, experts: s.routeExperts + i * k, weights: s.routeWeights + i * k)
        }

        // Group the (row, slot) pairs by expert: counting sort keeps rows in order.
        var counts = [Int](repeating: 0, count: moe.expertCount)
        for j in 0..<n * k { counts[Int(s.routeExperts[j])] += 1 }
        var offsets = [Int](repeating: 0, count: moe.expertCount)
        var total = 0
        for x in 0..<moe.expertCount { offsets[x] = total; total += counts[x] }
        var fill = offsets
        for j in 0..<n * k {
            let x = Int(s.routeExperts[j])
            let pos = fill[x]
            fill[x] += 1
            s.slotPosition[j] = Int32(pos)
            s.groupedRow[pos] = Int32(j / k)
            (s.grouped + pos * e).update(from: s.xb + (j / k) * e, count: e)
        }

        // gate/up of every used expert (and of the shared expert) in one pool job, then
        // SwiGLU, then all the down projections in one job.
        let active = (0..<moe.expertCount).filter { counts[$0] > 0 }
        let inActs = s.actsEmbd
        if f.gate[0].type.isQuantized || f.up[0].type.isQuantized { inActs.quantize(s.grouped, count: total, stride: e) }
        var targets: [MatMul.Target] = []
        for x in active {
            let input = MatMul.Input(x: s.grouped, xStride: e, acts: inActs, firstRow: offsets[x], n: counts[x])
            targets.append(.init(weights: f.gate[x], out: s.expertGate + offsets[x] * ff, outStride: ff, input: input))
            targets.append(.init(weights: f.up[x], out: s.expertUp + offsets[x] * ff, outStride: ff, input: input))
        }
        if let sh = f.shared {
            let sf = sh.gate.rows
            if sh.gate.type.isQuantized || sh.up.type.isQuantized { s.actsShared.quantize(s.xb, count: n, stride: e) }
            let input = MatMul.Input(x: s.xb, xStride: e, acts: s.actsShared, firstRow: 0, n: n)
            targets.append(.init(weights: sh.gate, out: s.gate, outStride: sf, input: input))
            targets.append(.init(weights: sh.up, out: s.up, outStride: sf, input: input))
        }
        MatMul.run(pool: pool, targets: targets, x: s.grouped, xStride: e, acts: inActs, n: 0)
        let downQuantized = f.down[0].type.isQuantized
        let ffActs = downQuantized ? s.activations(width: ff) : s.actsEmbd
        swiGLU(gate: s.expertGate, up: s.expertUp, rows: total, width: ff, acts: downQuantized ? ffActs : nil)
        targets.removeAll(keepingCapacity: true)
        for x in active {
            targets.append(.init(weights: f.down[x], out: s.expertOut + offsets[x] * e, outStride: e,
                                 input: .init(x: s.expertGate, xStride: ff, acts: ffActs, firstRow: offsets[x], n: counts[x])))
        }
        if let sh = f.shared {
            let sf = sh.gate.rows
            let q = sh.down.type.isQuantized
            let acts = q ? (sf == s.actsFF.rowLength ? s.actsFF : s.activations(width: sf)) : s.actsEmbd
            swiGLU(gate: s.gate, up: s.up, rows: n, width: sf, acts: q ? acts : nil)
            targets.append(.init(weights: sh.down, out: s.shared, outStride: e,
                                 input: .init(x: s.gate, xStride: sf, acts: acts, firstRow: 0, n: n)))
        }
        MatMul.run(pool: pool, targets: targets, x: s.expertGate, xStride: ff, acts: ffActs, n: 0)

        // Weighted sum in slot order, then the (gated) shared expert.
        for i in 0..<n {
            let out = s.xb2 + i * e
            for slot in 0..<k {
                let j = i * k + slot
                let w = s.routeWeights[j]
                let src = s.expertOut + Int(s.slotPosition[j]) * e
                if slot == 0 {
                    for d in 0..<e { out[d] = src[d] * w }
                } else {
                    for d in 0..<e { out[d] += src[d] * w }
                }
            }
            guard f.shared != nil else { continue }
            let sh = s.shared + i * e
            if let g = f.sharedGate {
                var dot: Float = 0
                let x = s.xb + i * e
                for d in 0..<e { dot += g[d] * x[d] }
                let gate = 1 / (1 + expf(-dot))
                for d in 0..<e { out[d] += sh[d] * gate }
            } else {
                VectorOps.add(out, sh, e)
            }
        }
    }
}
