import AirlockCore

/// The anonymization operators: redact, partial mask, keyed hash, pseudonymize.
public struct Operators: Sendable {
    /// The tenant's HMAC-SHA256 key, already absorbed into the inner and outer hash states.
    let keyedMAC: KeyedSHA256MAC

    /// `hashKey` is the tenant's secret; fingerprints are only comparable under the same key.
    public init(hashKey: [UInt8]) {
        self.keyedMAC = KeyedSHA256MAC(key: hashKey)
    }

    /// `[EMAIL_ADDRESS]`
    public func redact(_ type: EntityType) -> String { "[\(type.rawValue)]" }

    /// Hides all but a few characters and keeps separators, so people can still recognise
    /// which card or phone it was: `****-****-****-1234`, `j***@example.com`, `sk-p****`.
    public func mask(_ value: String, type: EntityType) -> String {
        let scalars = Array(value.unicodeScalars)
        var out = String.UnicodeScalarView()
        func isAlnumScalar(_ s: Unicode.Scalar) -> Bool { s.properties.isAlphabetic || s.properties.numericType != nil }
        switch type {
        case .emailAddress:
            let at = scalars.firstIndex(of: "@") ?? scalars.count
            for (i, s) in scalars.enumerated() { out.append(i == 0 || i >= at ? s : "*") }
        case .person:
            for (i, s) in scalars.enumerated() { out.append(i == 0 || s == " " ? s : "*") }
        case _ where type.isSecret:
            let keep = min(4, scalars.count / 4)
            for (i, s) in scalars.enumerated() { out.append(i < keep ? s : (s == "\n" ? s : "*")) }
        default:
            let alnumCount = scalars.filter(isAlnumScalar).count
            let keep = alnumCount > 6 ? 4 : 0
            var seen = 0
            for s in scalars {
                if isAlnumScalar(s) {
                    seen += 1
                    out.append(seen > alnumCount - keep ? s : "*")
                } else {
                    out.append(s)
                }
            }
        }
        return String(out)
    }

    /// HMAC-SHA256(key, type ":" value) as lowercase hex: a stable audit fingerprint.
    public func fingerprint(_ value: String, type: EntityType) -> String {
        var value = value
        return value.withUTF8 { fingerprint(utf8: UnsafeRawBufferPointer($0), type: type) }
    }

    /// `fingerprint` of a value given as its UTF-8 bytes (a slice of a scanned string), so
    /// no String is made for it.
    func fingerprint(utf8 value: UnsafeRawBufferPointer, type: EntityType) -> String {
        var typeName = type.rawValue
        return typeName.withUTF8 { name in
            withUnsafeBytes(of: UInt8(ascii: ":")) { colon in
                keyedMAC.hexDigest(UnsafeRawBufferPointer(name), colon, value)
            }
        }
    }

    /// The in-text form of the keyed hash: `[EMAIL_ADDRESS:3f2a9c1b0d4e5f6a]`.
    public func hash(_ value: String, type: EntityType) -> String {
        "[\(type.rawValue):\(fingerprint(value, type: type).prefix(16))]"
    }

    /// One finding as rewritten in a string: never the raw value.
    public struct Applied: Sendable, Hashable {
        public var type: EntityType
        public var action: Action
        public var fingerprint: String
        public var score: Double
    }

    /// Rewrites `text` (findings with UTF-8 byte offsets from `Scanner.scan`). Findings whose
    /// action is `.allow` are left as they are but still reported; `.block` is redacted too,
    /// so a caller that forgets to honour the block still leaks nothing. With `fingerprints`
    /// false each `Applied.fingerprint` is left empty, for callers that compute them later.
    public func apply(_ text: String, findings: [Finding], action: (EntityType) -> Action, vault: inout Vault,
                      fingerprints: Bool = true) -> (text: String, applied: [Applied]) {
        guard !findings.isEmpty else { return (text, []) }
        let bytes = Array(text.utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count + 16 * findings.count)
        var applied: [Applied] = []
        var pos = 0
        for f in findings.sorted(by: { $0.start < $1.start }) where f.start >= pos && f.end <= bytes.count {
            let value = String(decoding: bytes[f.start..<f.end], as: UTF8.self)
            let act = action(f.type)
            applied.append(Applied(type: f.type, action: act, fingerprint: fingerprints ? fingerprint(value, type: f.type) : "", score: f.score))
            let replacement: String
            switch act {
            case .allow: continue
            case .redact, .block: replacement = redact(f.type)
            case .mask: replacement = mask(value, type: f.type)
            case .hash: replacement = hash(value, type: f.type)
            case .pseudonymize:
                out.append(contentsOf: bytes[pos..<f.start])
                vault.appendPlaceholder(for: value, type: f.type, to: &out)
                pos = f.end
                continue
            }
            out.append(contentsOf: bytes[pos..<f.start])
            out.append(contentsOf: replacement.utf8)
            pos = f.end
        }
        out.append(contentsOf: bytes[pos...])
        return (String(decoding: out, as: UTF8.self), applied)
    }
}
