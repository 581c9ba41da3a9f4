extension LlamaModel {
    /// Scratch buffers sized for `maxBatch` rows, allocated once.
    final class Scratch {
        let x, xb, xb2, q, k, v, attn, gate, up, ropeTables, scores: UnsafeMutablePointer<Float>
        /// MLA: q-LoRA output, absorbed queries, per-head latent attention outputs (head-major).
        let qa, qAbsorbed, latent, headInput: UnsafeMutablePointer<Float>
        /// MoE: router logits, routing choice per (row, slot), tokens grouped by expert.
        let routerLogits, routeWeights, routeScratch, grouped, expertGate, expertUp, expertOut, shared: UnsafeMutablePointer<Float>
        let routeExperts: UnsafeMutablePointer<Int32>
        let groupedRow: UnsafeMutablePointer<Int32>
        let slotPosition: UnsafeMutablePointer<Int32>
        let scoresPerWorker: Int
        let maxRows: Int
        let actsEmbd: QuantizedActivations
        let actsFF: QuantizedActivations
        /// Weights each worker pulls into its cache during attention.
        let prefetch: WeightPrefetch
        /// The normed input again, for shared experts that run in the routed experts' job.
        let actsShared: QuantizedActivations
        /// Activations of other widths (q-LoRA, latent, head slices, expert FFN), by width.
        private var acts: [Int: QuantizedActivations] = [:]
        private var buffers: [UnsafeMutablePointer<Float>] = []

        init(config c: LlamaConfig, maxBatch b: Int, workers: Int) {
            let e = c.embeddingLength
            let h = c.headCount
            let topK = c.moe?.expertsUsed ?? 1
            maxRows = b * max(topK, h, 1)
            var qWidth = h * c.headDim, kWidth = c.cacheKeyWidth, vWidth = max(c.cacheValueWidth, 1)
            var attnWidth = h * c.valueHeadDim
            var qaWidth = 1, qAbsWidth = 1, latentWidth = 1, headInputWidth = 1
            if let m = c.mla {
                qWidth = h * m.keyHeadDim
                kWidth = max(kWidth, m.kvLoraRank + m.ropeDims)
                vWidth = max(vWidth, h * (m.nopeDims + m.valueHeadDim))
                attnWidth = h * m.valueHeadDim
                qaWidth = max(1, m.qLoraRank)
                qAbsWidth = h * (m.kvLoraRank + m.ropeDims)
                latentWidth = h * m.kvLoraRank
                headInputWidth = h * m.nopeDims
            }
            var ff = c.feedForwardLength
            var expertRows = 1, expertFF = 1
            if let moe = c.moe {
                ff = max(ff, moe.sharedFeedForwardLength, 32)
                expertRows = b * moe.expertsUsed
                expertFF = moe.expertFeedForwardLength
            }
            var buffers: [UnsafeMutablePointer<Float>] = []
            func buf(_ n: Int) -> UnsafeMutablePointer<Float> {
                let p = UnsafeMutablePointer<Float>.allocate(capacity: max(n, 1))
                buffers.append(p)
                return p
            }
            x = buf(b * e); xb = buf(b * e); xb2 = buf(b * e)
            q = buf(b * qWidth); k = buf(b * kWidth); v = buf(b * vWidth)
            attn = buf(b * attnWidth)
            gate = buf(b * ff); up = buf(b * ff)
            ropeTables = buf(b * c.ropeDims)
            // Room for the heads `attendGrouped` runs together.
            scoresPerWorker = 3 * c.contextLength
            scores = buf(workers * scoresPerWorker)
            qa = buf(b * qaWidth); qAbsorbed = buf(b * qAbsWidth); latent = buf(b * latentWidth); headInput = buf(b * headInputWidth)
            let experts = c.moe?.expertCount ?? 1
            routerLogits = buf(b * experts); routeWeights = buf(expertRows); routeScratch = buf(2 * experts)
            grouped = buf(expertRows * e); expertGate = buf(expertRows * expertFF); expertUp = buf(expertRows * expertFF)
            expertOut = buf(expertRows * e); shared = buf(b * e)
            routeExperts = .allocate(capacity: expertRows)
            groupedRow = .allocate(capacity: expertRows)
            slotPosition = .allocate(capacity: expertRows)
            self.buffers = buffers
            prefetch = WeightPrefetch(workers: workers)
            actsEmbd = QuantizedActivations(rows: max(b, expertRows), rowLength: e)
            actsShared = QuantizedActivations(rows: b, rowLength: e)
            actsFF = QuantizedActivations(rows: b, rowLength: max(32, c.feedForwardLength - c.feedForwardLength % 32))
        }

        deinit {
            for p in buffers { p.deallocate() }
            routeExperts.deallocate()
            groupedRow.deallocate()
            slotPosition.deallocate()
        }

        /// Quantized-activation storage for rows of `width` (a multiple of 32).
        func activations(width: Int) -> QuantizedActivations {
            if width == actsEmbd.rowLength { return actsEmbd }
            if let a = acts[width] { return a }
            let a = QuantizedActivations(rows: maxRows, rowLength: width)
            acts[width] = a
            return a
        }
    }
}
