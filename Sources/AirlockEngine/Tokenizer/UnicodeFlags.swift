/// Character classes used by the pre-tokenizer patterns (\p{L}, \p{N}, \s, \p{P}, \p{S},
/// \p{M}), from the standard library's Unicode tables. The BMP is tabulated once so the hot
/// loop is an array read.
struct UnicodeFlags: OptionSet, Sendable {
    let rawValue: UInt8
    static let letter = UnicodeFlags(rawValue: 1)
    static let number = UnicodeFlags(rawValue: 2)
    static let whitespace = UnicodeFlags(rawValue: 4)
    static let punctuation = UnicodeFlags(rawValue: 8)
    static let symbol = UnicodeFlags(rawValue: 16)
    static let mark = UnicodeFlags(rawValue: 32)
    /// Set for every valid code point, so "no class" is distinguishable from "past the end".
    static let defined = UnicodeFlags(rawValue: 128)

    private static let bmp: [UInt8] = (0..<0x10000).map { compute(UInt32($0)).rawValue }

    @inline(__always)
    static func of(_ scalar: UInt32) -> UnicodeFlags {
        if scalar < 0x10000 { return UnicodeFlags(rawValue: bmp[Int(scalar)]) }
        return compute(scalar)
    }

    static func compute(_ v: UInt32) -> UnicodeFlags {
        guard let s = Unicode.Scalar(v) else { return [] }
        var f: UnicodeFlags = .defined
        if s.properties.isWhitespace { f.insert(.whitespace) }
        switch s.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter:
            f.insert(.letter)
        case .decimalNumber, .letterNumber, .otherNumber:
            f.insert(.number)
        case .nonspacingMark, .spacingMark, .enclosingMark:
            f.insert(.mark)
        case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
             .initialPunctuation, .finalPunctuation, .otherPunctuation:
            f.insert(.punctuation)
        case .mathSymbol, .currencySymbol, .modifierSymbol, .otherSymbol:
            f.insert(.symbol)
        default:
            break
        }
        return f
    }
}
