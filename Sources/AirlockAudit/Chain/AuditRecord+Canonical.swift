import Crypto
import Foundation

/// The canonical encoding: a fixed-order, length-prefixed binary form of every field (big-
/// endian integers, presence bytes for optionals). Its SHA-256 is the row's content digest;
/// the row hash is SHA-256(previous hash ‖ content digest), so editing, deleting, inserting or
/// reordering a row breaks the chain. Keeping the digest separate lets retention redact a
/// row's fields while the chain stays verifiable (see `RetentionRunner`).
extension AuditRecord {
    static let canonicalVersion: UInt8 = 1

    func canonicalBytes() -> [UInt8] {
        var w = CanonicalWriter()
        w.u8(AuditRecord.canonicalVersion)
        w.string(chainID); w.i64(seq)
        withUnsafeBytes(of: eventID.uuid) { w.bytes.append(contentsOf: $0) }
        w.u8(kind)
        w.string(tenantID); w.string(keyID); w.string(requestID); w.string(endpoint)
        w.string(requestedModel); w.string(provider); w.string(region); w.string(routeReason)
        w.string(decision); w.strings(ruleIDs); w.i64(policyVersion)
        w.strings(entityTypes); w.u32(UInt32(entityCounts.count)); for c in entityCounts { w.i64(c) }
        w.strings(fingerprints)
        w.i64(promptTokens); w.i64(cachedPromptTokens); w.i64(completionTokens); w.i64(reasoningTokens)
        w.f64(costUSD); w.f64(avoidedCostUSD)
        w.i64(receivedAt); w.i64(firstByteAt); w.i64(completedAt); w.i64(latencyMs); w.i64(status)
        w.string(errorCode); w.string(clientAddress); w.string(actor); w.string(target); w.string(details)
        w.blob(payloadDigest)
        return w.bytes
    }

    func contentDigest() -> [UInt8] { Array(SHA256.hash(data: canonicalBytes())) }

    static func chainHash(prev: [UInt8], contentDigest: [UInt8]) -> [UInt8] {
        var h = SHA256()
        h.update(data: prev)
        h.update(data: contentDigest)
        return Array(h.finalize())
    }

    /// Sets prevHash and hash; returns the new chain head hash.
    mutating func seal(prev: [UInt8]) {
        prevHash = prev
        hash = AuditRecord.chainHash(prev: prev, contentDigest: contentDigest())
    }

    /// The hash this row should carry, recomputed from its fields.
    func recomputedHash() -> [UInt8] { AuditRecord.chainHash(prev: prevHash, contentDigest: contentDigest()) }

    /// Inverse of `canonicalBytes` (used by the spool); prev/hash are supplied separately.
    static func decodeCanonical(_ bytes: ArraySlice<UInt8>, prevHash: [UInt8]) throws -> AuditRecord {
        var r = CanonicalReader(bytes: bytes)
        guard try r.u8() == canonicalVersion else { throw CanonicalReader.Failure() }
        let chainID = try r.string()
        let seq = try r.i64()
        let uuidBytes = try r.take(16)
        let uuid = uuidBytes.withUnsafeBytes { raw in UUID(uuid: raw.loadUnaligned(as: uuid_t.self)) }
        let kind = try r.u8()
        let tenantID = try r.string(), keyID = try r.optString(), requestID = try r.string(), endpoint = try r.string()
        let requestedModel = try r.optString(), provider = try r.optString(), region = try r.optString(), routeReason = try r.optString()
        let decision = try r.string(), ruleIDs = try r.strings(), policyVersion = try r.optI64()
        let entityTypes = try r.strings()
        let n = Int(try r.u32())
        var counts: [Int64] = []
        for _ in 0..<n { counts.append(try r.i64()) }
        let fingerprints = try r.strings()
        let pt = try r.optI64(), cpt = try r.optI64(), ct = try r.optI64(), rt = try r.optI64()
        let cost = try r.optF64(), avoided = try r.optF64()
        let received = try r.i64(), firstByte = try r.optI64(), completed = try r.optI64(), latency = try r.optI64(), status = try r.optI64()
        let errorCode = try r.optString(), client = try r.optString(), actor = try r.optString(), target = try r.optString(), details = try r.optString()
        let digest = try r.optBlob()
        var record = AuditRecord(
            chainID: chainID, seq: seq, eventID: uuid, kind: kind, tenantID: tenantID, keyID: keyID, requestID: requestID,
            endpoint: endpoint, requestedModel: requestedModel, provider: provider, region: region, routeReason: routeReason,
            decision: decision, ruleIDs: ruleIDs, policyVersion: policyVersion, entityTypes: entityTypes, entityCounts: counts,
            fingerprints: fingerprints, promptTokens: pt, cachedPromptTokens: cpt, completionTokens: ct, reasoningTokens: rt,
            costUSD: cost, avoidedCostUSD: avoided, receivedAt: received, firstByteAt: firstByte, completedAt: completed,
            latencyMs: latency, status: status, errorCode: errorCode, clientAddress: client, actor: actor, target: target,
            details: details, payloadDigest: digest, prevHash: prevHash, hash: [])
        record.hash = record.recomputedHash()
        return record
    }
}

struct CanonicalWriter {
    var bytes: [UInt8] = []
    init() { bytes.reserveCapacity(384) }
    mutating func u8(_ v: UInt8) { bytes.append(v) }
    mutating func u32(_ v: UInt32) { withUnsafeBytes(of: v.bigEndian) { bytes.append(contentsOf: $0) } }
    mutating func i64(_ v: Int64) { withUnsafeBytes(of: v.bigEndian) { bytes.append(contentsOf: $0) } }
    mutating func i64(_ v: Int64?) { if let v { u8(1); i64(v) } else { u8(0) } }
    mutating func f64(_ v: Double?) { if let v { u8(1); withUnsafeBytes(of: v.bitPattern.bigEndian) { bytes.append(contentsOf: $0) } } else { u8(0) } }
    mutating func string(_ s: String) { let u = s.utf8; u32(UInt32(u.count)); bytes.append(contentsOf: u) }
    mutating func string(_ s: String?) { if let s { u8(1); string(s) } else { u8(0) } }
    mutating func strings(_ a: [String]) { u32(UInt32(a.count)); for s in a { string(s) } }
    mutating func blob(_ b: [UInt8]?) { if let b { u8(1); u32(UInt32(b.count)); bytes.append(contentsOf: b) } else { u8(0) } }
}

struct CanonicalReader {
    struct Failure: Error {}
    var bytes: ArraySlice<UInt8>
    mutating func take(_ n: Int) throws -> ArraySlice<UInt8> {
        guard n >= 0, bytes.count >= n else { throw Failure() }
        let out = bytes.prefix(n)
        bytes = bytes.dropFirst(n)
        return out
    }
    mutating func u8() throws -> UInt8 { try take(1).first! }
    mutating func u32() throws -> UInt32 { try take(4).reduce(0) { $0 << 8 | UInt32($1) } }
    mutating func i64() throws -> Int64 { Int64(bitPattern: try take(8).reduce(0) { $0 << 8 | UInt64($1) }) }
    mutating func optI64() throws -> Int64? { try u8() == 1 ? try i64() : nil }
    mutating func optF64() throws -> Double? {
        guard try u8() == 1 else { return nil }
        return Double(bitPattern: try take(8).reduce(0) { $0 << 8 | UInt64($1) })
    }
    mutating func string() throws -> String { String(decoding: try take(Int(try u32())), as: UTF8.self) }
    mutating func optString() throws -> String? { try u8() == 1 ? try string() : nil }
    mutating func strings() throws -> [String] { try (0..<Int(try u32())).map { _ in try string() } }
    mutating func optBlob() throws -> [UInt8]? { try u8() == 1 ? Array(try take(Int(try u32()))) : nil }
}
