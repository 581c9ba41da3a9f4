/// Check-digit and structure validators (algorithms from DESIGN.md's entity catalogue).
/// All take ASCII digit values 0...9 (not characters) unless stated.
public enum Validators {
    /// Luhn: from the right, double every second digit, subtract 9 when > 9; sum % 10 == 0.
    public static func luhn(_ d: some Collection<UInt8>) -> Bool {
        var sum = 0, double = false
        for x in d.reversed() {
            var v = Int(x)
            if double { v *= 2; if v > 9 { v -= 9 } }
            sum += v
            double.toggle()
        }
        return sum % 10 == 0
    }

    /// Card networks' issuer prefixes; a Luhn-valid number outside them is most likely not a card.
    public static func cardPrefixValid(_ d: [UInt8]) -> Bool {
        guard d.count >= 13 else { return false }
        let p2 = Int(d[0]) * 10 + Int(d[1])
        let p4 = p2 * 100 + Int(d[2]) * 10 + Int(d[3])
        let n = d.count
        switch d[0] {
        case 4: return n == 13 || n == 16 || n == 19
        case 5: return (51...55).contains(p2) && n == 16
        case 2: return (2221...2720).contains(p4) && n == 16
        case 3:
            if p2 == 34 || p2 == 37 { return n == 15 }
            if p2 == 35 { return n >= 16 }
            if p2 == 36 || p2 == 38 || p2 == 30 { return n >= 14 }
            return false
        case 6: return (p4 == 6011 || p2 == 65 || (644...649).contains(p4 / 10) || p2 == 62) && n >= 16
        default: return false
        }
    }

    /// Valid Gregorian date.
    public static func date(year: Int, month: Int, day: Int) -> Bool {
        guard (1...12).contains(month), day >= 1 else { return false }
        let dim = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
        var m = dim[month - 1]
        if month == 2, year % 4 == 0, year % 100 != 0 || year % 400 == 0 { m = 29 }
        return day <= m
    }

    public enum RRNKind: Sendable, Equatable { case resident, foreigner }
    public struct RRNResult: Sendable, Equatable {
        public var kind: RRNKind
        public var checksumValid: Bool
    }

    /// KR RRN/FRN (13 digits). nil when the date or gender digit is impossible.
    public static func koreanRRN(_ d: [UInt8]) -> RRNResult? {
        guard d.count == 13 else { return nil }
        let g = Int(d[6])
        let century: Int
        switch g {
        case 1, 2, 5, 6: century = 1900
        case 3, 4, 7, 8: century = 2000
        case 9, 0: century = 1800
        default: return nil
        }
        let y = century + Int(d[0]) * 10 + Int(d[1])
        let m = Int(d[2]) * 10 + Int(d[3]), day = Int(d[4]) * 10 + Int(d[5])
        guard date(year: y, month: m, day: day) else { return nil }
        let w = [2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5]
        var s = 0
        for i in 0..<12 { s += Int(d[i]) * w[i] }
        let foreigner = (5...8).contains(g)
        let check = foreigner ? (13 - s % 11) % 10 : (11 - s % 11) % 10
        return RRNResult(kind: foreigner ? .foreigner : .resident, checksumValid: check == Int(d[12]))
    }

    /// KR business registration number (10 digits).
    public static func koreanBRN(_ d: [UInt8]) -> Bool {
        guard d.count == 10 else { return false }
        let k = [1, 3, 7, 1, 3, 7, 1, 3, 5]
        var s = 0
        for i in 0..<9 { s += Int(d[i]) * k[i] }
        s += Int(d[8]) * 5 / 10
        return (10 - s % 10) % 10 == Int(d[9])
    }

    /// CN resident ID: 17 digits plus a check character (10 is written X, passed here as 10).
    public static func chineseResidentID(_ d: [UInt8]) -> Bool {
        guard d.count == 18, (1...8).contains(d[0]) else { return false }
        let y = Int(d[6]) * 1000 + Int(d[7]) * 100 + Int(d[8]) * 10 + Int(d[9])
        let m = Int(d[10]) * 10 + Int(d[11]), day = Int(d[12]) * 10 + Int(d[13])
        guard (1900...2030).contains(y), date(year: y, month: m, day: day) else { return false }
        let w = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
        var s = 0
        for i in 0..<17 { guard d[i] <= 9 else { return false }; s += Int(d[i]) * w[i] }
        return (12 - s % 11) % 11 == Int(d[17])
    }

    /// JP My Number (12 digits).
    public static func japaneseMyNumber(_ d: [UInt8]) -> Bool {
        guard d.count == 12 else { return false }
        let w = [6, 5, 4, 3, 2, 7, 6, 5, 4, 3, 2]
        var s = 0
        for i in 0..<11 { s += Int(d[i]) * w[i] }
        let r = s % 11
        return (r <= 1 ? 0 : 11 - r) == Int(d[11])
    }

    /// US SSN structure: no checksum exists, so reject the ranges never issued and known fakes.
    public static func usSSN(_ d: [UInt8]) -> Bool {
        guard d.count == 9 else { return false }
        let area = Int(d[0]) * 100 + Int(d[1]) * 10 + Int(d[2])
        let group = Int(d[3]) * 10 + Int(d[4])
        let serial = Int(d[5]) * 1000 + Int(d[6]) * 100 + Int(d[7]) * 10 + Int(d[8])
        if area == 0 || area == 666 || area >= 900 || group == 0 || serial == 0 { return false }
        if area == 78 && group == 5 && serial == 1120 { return false }   // the Woolworth wallet card
        if area == 219 && group == 9 && serial == 9999 { return false }  // SSA advertisement
        if d.allSatisfy({ $0 == d[0] }) { return false }
        if d == [1, 2, 3, 4, 5, 6, 7, 8, 9] { return false }
        return true
    }

    /// IBAN lengths by country (ISO 13616 registry, public facts).
    static let ibanLengths: [UInt16: Int] = {
        let s = "AD24 AE23 AL28 AT20 AZ28 BA20 BE16 BG22 BH22 BR29 BY28 CH21 CR22 CY28 CZ24 DE22 DK18 DO28 EE20 EG29 ES24 FI18 FO18 FR27 GB22 GE22 GI23 GL18 GR27 GT28 HR21 HU28 IE22 IL23 IQ23 IS26 IT27 JO30 KW30 KZ20 LB28 LC32 LI21 LT20 LU20 LV21 MC27 MD24 ME22 MK19 MR27 MT31 MU30 NL18 NO15 PK24 PL28 PS29 PT25 QA29 RO24 RS22 SA24 SC31 SE24 SI19 SK24 SM27 ST25 SV28 TL23 TN24 TR26 UA29 VA22 VG24 XK20"
        var m: [UInt16: Int] = [:]
        for e in s.split(separator: " ") {
            let u = Array(e.utf8)
            m[UInt16(u[0]) << 8 | UInt16(u[1])] = Int(u[2] - 48) * 10 + Int(u[3] - 48)
        }
        return m
    }()

    public static func ibanLength(country a: UInt8, _ b: UInt8) -> Int? { ibanLengths[UInt16(a) << 8 | UInt16(b)] }

    /// IBAN mod-97 over uppercase ASCII alphanumerics (separators already removed).
    public static func ibanMod97(_ chars: [UInt8]) -> Bool {
        guard chars.count >= 15 else { return false }
        var r = 0
        for i in 0..<chars.count {
            let c = chars[(i + 4) % chars.count]
            if isDigit(c) { r = (r * 10 + Int(c - 48)) % 97 }
            else if isUpper(c) { r = (r * 100 + Int(c - 55)) % 97 }
            else { return false }
        }
        return r == 1
    }

    /// Bech32 / Bech32m checksum (BIP-173/350) over a lowercase address such as `bc1q...`.
    public static func bech32(_ s: [UInt8]) -> Bool {
        guard let sep = s.lastIndex(of: UInt8(ascii: "1")), sep >= 1, s.count - sep >= 7, s.count <= 90 else { return false }
        let charset = Array("qpzry9x8gf2tvdw0s3jn54khce6mua7l".utf8)
        var values: [UInt32] = []
        for c in s[0..<sep] { values.append(UInt32(c >> 5)) }
        values.append(0)
        for c in s[0..<sep] { values.append(UInt32(c & 31)) }
        for c in s[(sep + 1)...] {
            guard let v = charset.firstIndex(of: c) else { return false }
            values.append(UInt32(v))
        }
        let gen: [UInt32] = [0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3]
        var chk: UInt32 = 1
        for v in values {
            let b = chk >> 25
            chk = (chk & 0x1ffffff) << 5 ^ v
            for i in 0..<5 where (b >> i) & 1 == 1 { chk ^= gen[i] }
        }
        return chk == 1 || chk == 0x2bc830a3
    }

    static let base58Alphabet: [Int8] = {
        var t = [Int8](repeating: -1, count: 128)
        for (i, c) in "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz".utf8.enumerated() { t[Int(c)] = Int8(i) }
        return t
    }()

    /// Decodes Base58 to bytes (nil on a character outside the alphabet).
    static func base58Decode(_ s: some Collection<UInt8>) -> [UInt8]? {
        var out: [UInt8] = []
        var zeros = 0
        var leading = true
        var num: [UInt32] = [] // little-endian base-256 digits
        for c in s {
            guard c < 128, base58Alphabet[Int(c)] >= 0 else { return nil }
            let v = UInt32(base58Alphabet[Int(c)])
            if leading && v == 0 { zeros += 1; continue }
            leading = false
            var carry = v
            for i in 0..<num.count {
                let x = num[i] * 58 + carry
                num[i] = x & 0xFF
                carry = x >> 8
            }
            while carry > 0 { num.append(carry & 0xFF); carry >>= 8 }
        }
        out.append(contentsOf: repeatElement(0, count: zeros))
        for x in num.reversed() { out.append(UInt8(x)) }
        return out
    }
}
