/// A sealed event with its encrypted bodies, as the writer stores it (database or spool).
struct SpoolEntry: Sendable, Equatable {
    var record: AuditRecord
    var payload: SealedPayload?
}

/// The two AES-GCM boxes of a captured event and the fingerprint of the key that sealed them.
struct SealedPayload: Sendable, Equatable {
    var keyID: String
    var request: [UInt8]
    var response: [UInt8]
}

extension SpoolEntry {
    static let recordType: UInt8 = 1

    func encode(into out: inout [UInt8]) {
        var w = CanonicalWriter()
        w.u8(SpoolEntry.recordType)
        w.bytes.append(contentsOf: record.prevHash)
        w.blob(record.canonicalBytes())
        if let payload {
            w.u8(1); w.string(payload.keyID); w.blob(payload.request); w.blob(payload.response)
        } else {
            w.u8(0)
        }
        out.append(contentsOf: w.bytes)
    }

    static func decode(_ body: ArraySlice<UInt8>) throws -> SpoolEntry {
        var r = CanonicalReader(bytes: body)
        guard try r.u8() == recordType else { throw CanonicalReader.Failure() }
        let prev = Array(try r.take(32))
        guard let canonical = try r.optBlob() else { throw CanonicalReader.Failure() }
        let record = try AuditRecord.decodeCanonical(canonical[...], prevHash: prev)
        var payload: SealedPayload?
        if try r.u8() == 1 {
            let keyID = try r.string()
            guard let req = try r.optBlob(), let resp = try r.optBlob() else { throw CanonicalReader.Failure() }
            payload = SealedPayload(keyID: keyID, request: req, response: resp)
        }
        return SpoolEntry(record: record, payload: payload)
    }
}
