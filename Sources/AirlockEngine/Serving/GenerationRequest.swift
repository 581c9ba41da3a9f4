import Synchronization

/// A queued or running generation: its input, options, the stream continuation it feeds
/// and a cancellation flag set from any thread when the consumer goes away.
final class GenerationRequest: Sendable {
    enum Input: Sendable {
        case chat([ChatMessage])
        case tokens([Int32])
    }

    let input: Input
    let options: GenerationOptions
    let continuation: AsyncThrowingStream<GenerationEvent, any Error>.Continuation
    private let cancelledFlag = Atomic<Bool>(false)

    init(input: Input, options: GenerationOptions,
         continuation: AsyncThrowingStream<GenerationEvent, any Error>.Continuation) {
        self.input = input
        self.options = options
        self.continuation = continuation
    }

    var isCancelled: Bool { cancelledFlag.load(ordering: .relaxed) }
    func cancel() { cancelledFlag.store(true, ordering: .relaxed) }
}
