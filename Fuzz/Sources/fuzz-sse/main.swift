import FuzzDriver
import Glibc
import AirlockSSE

/// SSE parser (every streamed provider answer goes through it). The first byte picks a chunk
/// size, the rest is the stream. Properties: never crashes; the events do not depend on how
/// the stream is split into chunks; re-encoding an event and parsing it gives it back.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSSE(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let step = Int(data[0] % 16) + 1
    let stream = Array(UnsafeBufferPointer(start: data + 1, count: size - 1))

    func parse(chunk: Int) -> [SSEParser.Event]? {
        var parser = SSEParser(maxLineBytes: 4096)
        var events: [SSEParser.Event] = []
        var i = 0
        while i < stream.count {
            let end = min(stream.count, i + chunk)
            guard let got = try? parser.feed(stream[i..<end]) else { return nil }
            events += got
            i = end
        }
        if let tail = parser.finish() { events.append(tail) }
        return events
    }

    let whole = parse(chunk: max(stream.count, 1))
    let split = parse(chunk: step)
    precondition(whole == split, "SSE events depend on chunk boundaries")
    for event in whole ?? [] {
        var parser = SSEParser()
        var back = (try? parser.feed(event.encoded)) ?? []
        if let tail = parser.finish() { back.append(tail) }
        precondition(back.count == 1 && back[0].data == event.data, "an encoded SSE event does not parse back")
    }
    return 0
}


// SwiftPM's main runs, not libFuzzer's: hand over to the libFuzzer driver.
var argc = CommandLine.argc
var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
exit(LLVMFuzzerRunDriver(&argc, &argv) { data, size in
    guard let data else { return 0 }
    return fuzzSSE(data, size)
})
