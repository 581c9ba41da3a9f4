import Crypto

extension Validators {
    /// Base58Check (Bitcoin P2PKH/P2SH): the last 4 decoded bytes are the first 4 of
    /// SHA256(SHA256(payload)); version byte 0x00 or 0x05 for mainnet addresses.
    public static func base58CheckAddress(_ s: some Collection<UInt8>) -> Bool {
        guard let raw = base58Decode(s), raw.count == 25, raw[0] == 0x00 || raw[0] == 0x05 else { return false }
        let payload = raw[0..<21]
        let first = SHA256.hash(data: Array(payload))
        let second = SHA256.hash(data: Array(first))
        return Array(second.prefix(4)) == Array(raw[21..<25])
    }
}
