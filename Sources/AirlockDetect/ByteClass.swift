/// Byte classification tables for the scanner's hot loop. A 256-entry table beats chains of
/// range checks and keeps the loop branch-light on plain prose.
enum ByteClass {
    /// Dispatch class of a byte in the main loop.
    static let skip: UInt8 = 0
    static let word: UInt8 = 1
    static let punct: UInt8 = 2
    static let nonASCII: UInt8 = 3

    static let table: [UInt8] = {
        var t = [UInt8](repeating: skip, count: 256)
        for b in UInt8(ascii: "a")...UInt8(ascii: "z") { t[Int(b)] = word }
        for b in UInt8(ascii: "A")...UInt8(ascii: "Z") { t[Int(b)] = word }
        for b in UInt8(ascii: "0")...UInt8(ascii: "9") { t[Int(b)] = word }
        t[Int(UInt8(ascii: "_"))] = word
        for c in "@:-+(" { t[Int(c.asciiValue!)] = punct }
        for b in 0x80...0xFF { t[b] = nonASCII }
        return t
    }()
}

@inline(__always) func isDigit(_ b: UInt8) -> Bool { b &- 0x30 < 10 }
@inline(__always) func isUpper(_ b: UInt8) -> Bool { b &- 0x41 < 26 }
@inline(__always) func isLower(_ b: UInt8) -> Bool { b &- 0x61 < 26 }
@inline(__always) func isLetter(_ b: UInt8) -> Bool { (b | 0x20) &- 0x61 < 26 }
@inline(__always) func isAlnum(_ b: UInt8) -> Bool { isDigit(b) || isLetter(b) }
@inline(__always) func isWordByte(_ b: UInt8) -> Bool { isAlnum(b) || b == 0x5F }
@inline(__always) func isHex(_ b: UInt8) -> Bool { isDigit(b) || (b | 0x20) &- 0x61 < 6 }
@inline(__always) func lower(_ b: UInt8) -> UInt8 { isUpper(b) ? b | 0x20 : b }
@inline(__always) func isSpace(_ b: UInt8) -> Bool { b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D }
@inline(__always) func hexValue(_ b: UInt8) -> Int { isDigit(b) ? Int(b - 0x30) : Int((b | 0x20) - 0x61 + 10) }
