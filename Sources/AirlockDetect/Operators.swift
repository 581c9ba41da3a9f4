import AirlockCore
import Crypto

/// The anonymization operators: redact, partial mask, keyed hash, pseudonymize.
public struct Operators: Sendable {
    /// The keyed HMAC with its key schedule done once per tenant key; each fingerprint starts
    /// from a copy (a value type), which skips re-deriving the padded key for every finding.
    let keyedMAC: PreparedMAC

    /// `hashKey` is the tenant's secret; fingerprints are only comparable under the same key.
    public init(hashKey: [UInt8]) {
        self.keyedMAC = PreparedMAC(HMAC<SHA256>(key: SymmetricKey(data: hashKey)))
    }

    /// `HMAC` is a plain value (hash states, no references) that swift-crypto does not mark
    /// Sendable; it is only ever copied, never shared mutably.
    struct PreparedMAC: @unchecked Sendable {
        let initial: HMAC<SHA256>
        init(_ mac: HMAC<SHA256>) { initial = mac }
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
        var mac = keyedMAC.initial
        // One update with the whole message: each `update` goes through swift-crypto's
        // unspecialised `DataProtocol` path, which cost more than hashing these few bytes.
        var message = Array(type.rawValue.utf8)
        message.append(UInt8(ascii: ":"))
        message.append(contentsOf: value.utf8)
        mac.update(data: message)
        return Operators.hex(Array(mac.finalize()))
    }

    /// The in-text form of the keyed hash: `[EMAIL_ADDRESS:3f2a9c1b0d4e5f6a]`.
    public func hash(_ value: String, type: EntityType) -> String {
        "[\(type.rawValue):\(fingerprint(value, type: type).prefix(16))]"
    }

    static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count * 2)
        for b in bytes { out.append(digits[Int(b >> 4)]); out.append(digits[Int(b & 15)]) }
        return String(decoding: out, as: UTF8.self)
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
    /// so a caller that forgets to honour the block still leaks nothing.
    public func apply(_ text: String, findings: [Finding], action: (EntityType) -> Action, vault: inout Vault) -> (text: String, applied: [Applied]) {
        guard !findings.isEmpty else { return (text, []) }
        let bytes = Array(text.utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count + 16 * findings.count)
        var applied: [Applied] = []
        var pos = 0
        for f in findings.sorted(by: { $0.start < $1.start }) where f.start >= pos && f.end <= bytes.count {
            let value = String(decoding: bytes[f.start..<f.end], as: UTF8.self)
            let act = action(f.type)
            applied.append(Applied(type: f.type, action: act, fingerprint: fingerprint(value, type: f.type), score: f.score))
            let replacement: String
            switch act {
            case .allow: continue
            case .redact, .block: replacement = redact(f.type)
            case .mask: replacement = mask(value, type: f.type)
            case .hash: replacement = hash(value, type: f.type)
            case .pseudonymize: replacement = vault.placeholder(for: value, type: f.type)
            }
            out.append(contentsOf: bytes[pos..<f.start])
            out.append(contentsOf: replacement.utf8)
            pos = f.end
        }
        out.append(contentsOf: bytes[pos...])
        return (String(decoding: out, as: UTF8.self), applied)
    }
}
