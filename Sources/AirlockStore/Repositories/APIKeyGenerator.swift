/// Makes key material: `ak_live_` + 43 base62 characters (≈ 256 bits) from the system's
/// cryptographic random source, and public key ids `key_` + 16 base62 characters.
public enum APIKeyGenerator {
    public static let keyPrefix = "ak_live_"
    public static let secretLength = 43
    /// Characters of the key shown in listings so operators can recognise it.
    public static let displayPrefixLength = 12
    /// Longer presented keys are rejected before hashing.
    public static let maximumPresentedLength = 256

    static let alphabet = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz".utf8)

    public static func newKey() -> String { keyPrefix + base62(count: secretLength) }

    public static func newKeyID() -> String { "key_" + base62(count: 16) }

    public static func displayPrefix(of key: String) -> String { String(key.prefix(displayPrefixLength)) }

    /// Rejection sampling keeps every character uniformly likely (256 is not a multiple of 62).
    static func base62(count: Int) -> String {
        var rng = SystemRandomNumberGenerator()
        var out: [UInt8] = []
        out.reserveCapacity(count)
        while out.count < count {
            let byte = UInt8.random(in: 0...255, using: &rng)
            if byte < 248 { out.append(alphabet[Int(byte % 62)]) }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
