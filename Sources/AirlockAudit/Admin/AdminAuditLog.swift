import AirlockCore
import Foundation
import Logging
import PostgresNIO

/// Records administrative actions (policy applies, key creation/revocation, provider
/// changes, retention runs, legal holds) on a shared chain (default `admin`) that any
/// process — the gateway's admin API or a CLI command — can append to: each append locks the
/// chain head row, so concurrent writers serialise (admin actions are rare).
public struct AdminAuditLog: Sendable {
    public let client: PostgresClient
    public let logger: Logger
    public let chainID: String
    let signer: ChainSigner?
    let store: AuditStore

    public init(client: PostgresClient, logger: Logger, checkpointKey: AuditKey?, chainID: String = "admin") {
        self.client = client
        self.logger = logger
        self.chainID = chainID
        self.signer = checkpointKey.map(ChainSigner.init)
        self.store = AuditStore(client: client, logger: logger)
    }

    /// Appends the event durably; returns its sequence number.
    @discardableResult
    public func record(_ event: AuditEvent) async throws -> Int64 {
        var event = event
        event.payload = nil
        try await store.ensurePartitions([UTCDay.day(ofMicros: event.receivedAt.micros)])
        for _ in 0..<20 {
            let head = try await store.head(chainID: chainID) ?? .init(seq: 0, hash: AuditRecord.zeroHash)
            var record = AuditRecord(event: event, chainID: chainID, seq: head.seq + 1, payloadDigest: nil)
            record.seal(prev: head.hash)
            do {
                if try await store.append([SpoolEntry(record: record, payload: nil)], chainID: chainID, signer: signer, checkpointEvery: 0).rows == 1 {
                    return record.seq
                }
            } catch let error as AirlockError where error.code == .auditUnavailable {
                // Another process appended first: read the new head and try again.
            }
            try await Task.sleep(for: .milliseconds(Int.random(in: 5...30)))
        }
        throw AirlockError(.auditUnavailable, "could not append to the admin audit chain (contention)")
    }
}
