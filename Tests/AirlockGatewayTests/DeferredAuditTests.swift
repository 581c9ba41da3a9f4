@testable import AirlockAudit
import AirlockCore
import AirlockDetect
import Foundation
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import PostgresNIO
import Testing
@testable import AirlockGateway

/// A whole answer's audit event is recorded after the answer is written (the client does not
/// wait for it), and still exactly once when the answer is dropped unwritten.
@Suite struct DeferredAuditTests {
    /// A writer that is never run: `record` only queues, which is what is counted here.
    static func idleWriter() -> AuditWriter {
        var configuration = PostgresClient.Configuration(host: "127.0.0.1", port: 1, username: "nobody", password: nil, database: nil, tls: .disable)
        configuration.options.minimumConnections = 0
        let client = PostgresClient(configuration: configuration, backgroundLogger: Logger(label: "deferred-audit-test"))
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("deferred-audit-\(UUID().uuidString)").path
        return AuditWriter(client: client, configuration: .init(chainID: "deferred", spoolDirectory: directory), logger: Logger(label: "deferred-audit-test"))
    }

    static func event() -> AuditEvent { AuditEvent(tenantID: "t", requestID: "req_deferred", decision: .allowed) }

    /// Collects what a body writes and notes when the event was queued relative to the write.
    final class RecordingWriter: ResponseBodyWriter {
        var written = ByteBuffer()
        var finished = false
        var acceptedWhenFinished: Int?
        let audit: AuditWriter
        init(audit: AuditWriter) { self.audit = audit }
        func write(_ buffer: ByteBuffer) async throws { written.writeImmutableBuffer(buffer) }
        func finish(_ trailingHeaders: HTTPFields?) async throws {
            finished = true
            acceptedWhenFinished = audit.stats.accepted
        }
    }

    @Test func eventIsRecordedOnceAfterTheAnswerIsWritten() async throws {
        let audit = Self.idleWriter()
        var body: ResponseBody? = AuditGate.body(ByteBuffer(string: "{\"ok\":true}"), then: DeferredAuditEvent(audit: audit, event: Self.event()))
        #expect(body?.contentLength == 11)
        let writer = RecordingWriter(audit: audit)
        try await body?.write(writer)
        #expect(String(buffer: writer.written) == "{\"ok\":true}")
        #expect(writer.finished)
        // Nothing was queued while the answer was being written ...
        #expect(writer.acceptedWhenFinished == 0)
        // ... and exactly one event once the answer is done with.
        body = nil
        #expect(audit.stats.accepted == 1)
    }

    @Test func eventIsRecordedWhenTheAnswerIsNeverWritten() {
        let audit = Self.idleWriter()
        var body: ResponseBody? = AuditGate.body(ByteBuffer(string: "{}"), then: DeferredAuditEvent(audit: audit, event: Self.event()))
        #expect(audit.stats.accepted == 0)
        #expect(body != nil)
        body = nil
        #expect(audit.stats.accepted == 1)
    }

    @Test func fingerprintsAreMadeByTheWriter() throws {
        let audit = Self.idleWriter()
        let operators = Operators(hashKey: Array("tenant-key".utf8))
        let transformer = RequestTransformer(scanner: Scanner(), operators: operators)
        let request = try JSONValue(parsing: #"{"model":"m","messages":[{"role":"user","content":"mail ann@example.com or 010-1234-5678"}]}"#)
        let located = transformer.scan(request: request)
        var body: ResponseBody? = AuditGate.body(ByteBuffer(string: "{}"), then: DeferredAuditEvent(
            audit: audit, event: Self.event(), fingerprints: PendingFingerprints(located: located, request: request, operators: operators)))
        #expect(body != nil)
        body = nil
        let queued = audit.take(max: 10)
        #expect(queued.count == 1)
        // Queued without them: the writer makes them, on its own thread, before sealing.
        #expect(queued.first?.event.fingerprints == [])
        #expect(queued.first?.completedEvent.fingerprints == [operators.fingerprint("ann@example.com", type: .emailAddress),
                                                             operators.fingerprint("010-1234-5678", type: .phoneNumber)])
    }

    @Test func withoutAPendingEventTheBodyIsPlain() async throws {
        let audit = Self.idleWriter()
        let body = AuditGate.body(ByteBuffer(string: "{}"), then: nil)
        let writer = RecordingWriter(audit: audit)
        try await body.write(writer)
        #expect(String(buffer: writer.written) == "{}")
        #expect(audit.stats.accepted == 0)
    }
}
