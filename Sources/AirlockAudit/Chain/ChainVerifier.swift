import AirlockCore
import Foundation
import Logging
import NIOCore
import PostgresNIO

/// Recomputes every hash of each chain (optionally only the part holding events received in
/// a time range) and names the first broken sequence: an edited row no longer matches its
/// hash, a deleted row leaves a gap, an inserted row duplicates a sequence or breaks a link
/// or overruns the signed head, a reordered row breaks both. Signed checkpoints let
/// verification start after rows that retention removed.
public struct ChainVerifier: Sendable {
    public let client: PostgresClient
    public let logger: Logger
    /// Needed to check signatures of heads, checkpoints and redactions; without it they are
    /// reported as unchecked.
    public let signer: ChainSigner?

    public init(client: PostgresClient, logger: Logger, checkpointKey: AuditKey?) {
        self.client = client
        self.logger = logger
        self.signer = checkpointKey.map(ChainSigner.init)
    }

    public struct Problem: Sendable, Equatable, CustomStringConvertible {
        public enum Kind: String, Sendable {
            case edited = "row content does not match its hash (edited or reordered)"
            case missing = "sequence missing (deleted row)"
            case duplicate = "sequence appears twice (inserted row)"
            case linkBroken = "previous-hash link broken (row inserted, replaced or reordered)"
            case beyondHead = "row after the chain head (inserted row)"
            case tailMissing = "rows missing before the chain head (deleted rows)"
            case headMismatch = "chain head does not match the row it names"
            case badSignature = "signature does not verify (head, checkpoint or redaction forged)"
            case checkpointMismatch = "row does not match a signed checkpoint"
        }
        public var seq: Int64
        public var kind: Kind
        public var description: String { "sequence \(seq): \(kind.rawValue)" }
    }

    public struct ChainReport: Sendable, Equatable {
        public var chainID: String
        public var firstSeq: Int64?
        public var lastSeq: Int64?
        public var eventsChecked: Int = 0
        public var redactedEvents: Int = 0
        public var checkpointsChecked: Int = 0
        /// nil when no key was given to check signatures.
        public var signaturesChecked: Bool
        public var problem: Problem?
        public var ok: Bool { problem == nil }
    }

    public struct Report: Sendable, Equatable {
        public var chains: [ChainReport]
        public var ok: Bool { chains.allSatisfy(\.ok) }
        public var eventsChecked: Int { chains.reduce(0) { $0 + $1.eventsChecked } }
    }

    struct Checkpoint {
        var seq: Int64
        var fromSeq: Int64?
        var hash: [UInt8]
        var mac: [UInt8]
    }

    public func verify(from: Date? = nil, to: Date? = nil, chainID: String? = nil) async throws -> Report {
        var heads: [(String, Int64, [UInt8], [UInt8]?)] = []
        for try await (id, seq, hash, mac) in try await client.query(
            "SELECT chain_id, last_seq, last_hash, mac FROM audit_chains WHERE (\(chainID)::text IS NULL OR chain_id = \(chainID)) ORDER BY chain_id",
            logger: logger
        ).decode((String, Int64, ByteBuffer, ByteBuffer?).self) {
            heads.append((id, seq, Array(buffer: hash), mac.map { Array(buffer: $0) }))
        }
        var reports: [ChainReport] = []
        for (id, headSeq, headHash, headMAC) in heads {
            reports.append(try await verifyChain(id, headSeq: headSeq, headHash: headHash, headMAC: headMAC, from: from, to: to))
        }
        return Report(chains: reports)
    }

    func verifyChain(_ chainID: String, headSeq: Int64, headHash: [UInt8], headMAC: [UInt8]?, from: Date?, to: Date?) async throws -> ChainReport {
        var report = ChainReport(chainID: chainID, signaturesChecked: signer != nil)
        func fail(_ seq: Int64, _ kind: Problem.Kind) -> ChainReport {
            var r = report
            r.problem = Problem(seq: seq, kind: kind)
            return r
        }
        if let signer, !ChainSigner.equal(headMAC, signer.headMAC(chainID: chainID, seq: headSeq, hash: headHash)) {
            return fail(headSeq, .badSignature)
        }
        var checkpoints: [Int64: Checkpoint] = [:]
        for try await (seq, fromSeq, hash, mac) in try await client.query(
            "SELECT seq, from_seq, hash, mac FROM audit_checkpoints WHERE chain_id = \(chainID)", logger: logger
        ).decode((Int64, Int64?, ByteBuffer, ByteBuffer).self) {
            let cp = Checkpoint(seq: seq, fromSeq: fromSeq, hash: Array(buffer: hash), mac: Array(buffer: mac))
            if let signer, !ChainSigner.equal(cp.mac, signer.checkpointMAC(chainID: chainID, seq: seq, fromSeq: fromSeq, hash: cp.hash)) {
                return fail(seq, .badSignature)
            }
            checkpoints[seq] = cp
        }

        // The sequence span to check: events received in [from, to) may have been chained
        // out of time order (recorded at completion), so verify the whole span they cover.
        let ranged = from != nil || to != nil
        var lowSeq: Int64 = 1
        var highSeq: Int64 = headSeq
        if ranged {
            let fromDate = from ?? Date(timeIntervalSince1970: 0)
            let toDate = to ?? Date(timeIntervalSince1970: 32_503_680_000)
            var span: (Int64?, Int64?) = (nil, nil)
            for try await (lo, hi) in try await client.query(
                "SELECT min(seq), max(seq) FROM audit_events WHERE chain_id = \(chainID) AND received_at >= \(fromDate) AND received_at < \(toDate)",
                logger: logger
            ).decode((Int64?, Int64?).self) { span = (lo, hi) }
            guard let lo = span.0, let hi = span.1 else { return report }
            lowSeq = lo
            highSeq = hi
        }

        var expected: Int64 = lowSeq
        var prev: [UInt8]?
        if lowSeq == 1 { prev = AuditRecord.zeroHash }
        let rows = try await client.query("""
            SELECT \(unescaped: AuditRecord.selectColumns) FROM audit_events
            WHERE chain_id = \(chainID) AND seq >= \(lowSeq) AND seq <= \(max(highSeq, ranged ? highSeq : Int64.max)) ORDER BY seq
            """, logger: logger)
        for try await row in rows {
            let stored = try AuditRecord.decodeStored(row)
            let r = stored.record
            if report.firstSeq == nil {
                report.firstSeq = r.seq
                if prev == nil || r.seq != expected {
                    // Rows before this one are gone: a row just before it (outside a range)
                    // or a signed checkpoint must anchor the link.
                    if let anchor = try await hashOfRow(chainID: chainID, seq: r.seq - 1) {
                        prev = anchor
                    } else if let h = covered(checkpoints, from: ranged ? nil : 1, through: r.seq - 1) {
                        prev = h
                    } else if r.seq > 1 {
                        let earlier = checkpoints.keys.filter { $0 < r.seq - 1 }.max()
                        return fail(ranged ? r.seq - 1 : (earlier.map { $0 + 1 } ?? 1), .missing)
                    }
                    expected = r.seq
                }
            }
            if r.seq < expected { return fail(r.seq, .duplicate) }
            if r.seq > headSeq { return fail(r.seq, .beyondHead) }
            if r.seq > expected {
                // A gap is legitimate only where retention removed exactly that span.
                guard let h = covered(checkpoints, from: expected, through: r.seq - 1) else { return fail(expected, .missing) }
                prev = h
            }
            let digest: [UInt8]
            if stored.redacted {
                guard let d = stored.contentDigest else { return fail(r.seq, .edited) }
                if let signer, !ChainSigner.equal(stored.redactionMAC, signer.redactionMAC(chainID: chainID, seq: r.seq, contentDigest: d)) {
                    return fail(r.seq, .badSignature)
                }
                digest = d
                report.redactedEvents += 1
            } else {
                digest = r.contentDigest()
            }
            if AuditRecord.chainHash(prev: r.prevHash, contentDigest: digest) != r.hash { return fail(r.seq, .edited) }
            if r.prevHash != prev { return fail(r.seq, .linkBroken) }
            if let cp = checkpoints[r.seq] {
                if cp.hash != r.hash { return fail(r.seq, .checkpointMismatch) }
                report.checkpointsChecked += 1
            }
            if r.seq == headSeq && r.hash != headHash { return fail(r.seq, .headMismatch) }
            prev = r.hash
            expected = r.seq + 1
            report.lastSeq = r.seq
            report.eventsChecked += 1
        }
        if !ranged || highSeq == headSeq {
            if report.firstSeq == nil {
                // No rows at all: fine only if the head is covered by a retention checkpoint.
                if headSeq > 0, covered(checkpoints, from: 1, through: headSeq) == nil { return fail(checkpoints.keys.filter { $0 < headSeq }.max().map { $0 + 1 } ?? 1, .tailMissing) }
            } else if expected - 1 < headSeq {
                if covered(checkpoints, from: expected, through: headSeq) != nil { return report }
                return fail(expected, .tailMissing)
            }
        }
        return report
    }

    /// The signed hash at `end` when retention checkpoints account for every sequence from
    /// `start` (nil: any start) through `end`, else nil.
    func covered(_ checkpoints: [Int64: Checkpoint], from start: Int64?, through end: Int64) -> [UInt8]? {
        guard let last = checkpoints[end] else { return nil }
        guard let start else { return last.hash }
        var cp: Checkpoint? = last
        while let c = cp, let f = c.fromSeq {
            if f == start { return last.hash }
            if f < start { return nil }
            cp = checkpoints[f - 1]
        }
        return nil
    }

    private func hashOfRow(chainID: String, seq: Int64) async throws -> [UInt8]? {
        guard seq >= 1 else { return nil }
        for try await hash in try await client.query(
            "SELECT hash FROM audit_events WHERE chain_id = \(chainID) AND seq = \(seq) LIMIT 1", logger: logger
        ).decode(ByteBuffer.self) {
            return Array(buffer: hash)
        }
        return nil
    }
}
