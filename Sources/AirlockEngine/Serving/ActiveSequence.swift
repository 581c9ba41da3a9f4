import Foundation

/// Per-stream state on the scheduler thread: prompt, KV cache, sampler, text decoding and
/// stop handling, counters and timestamps.
final class ActiveSequence {
    let request: GenerationRequest
    let prompt: [Int32]
    let cache: KVCache
    var sampler: Sampler
    var decoder = UTF8StreamDecoder()
    var stopFilter: StopSequenceFilter
    /// Tokens already in the KV cache.
    var past = 0
    /// Last sampled token, to be fed at position `past` in the next step.
    var pending: Int32 = 0
    var generated = 0
    var hitStopSequence = false
    let admitted: Double
    var firstToken: Double?

    init(request: GenerationRequest, prompt: [Int32], cache: KVCache) {
        self.request = request
        self.prompt = prompt
        self.cache = cache
        sampler = Sampler(options: request.options)
        sampler.observe(prompt)
        stopFilter = StopSequenceFilter(request.options.stop)
        admitted = ProcessInfo.processInfo.systemUptime
    }

    var inPrefill: Bool { past < prompt.count }
}
