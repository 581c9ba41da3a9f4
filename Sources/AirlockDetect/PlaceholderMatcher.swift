import AirlockCore

/// Recognises placeholders the way models write them back: `<EMAIL_ADDRESS_1>`, with case
/// changes, spaces inside the brackets (`< Email Address 1 >`), or a missing bracket
/// (`EMAIL_ADDRESS_1>`, `<EMAIL_ADDRESS_1`). Without any bracket the underscores are required
/// (`email_address_1`), so prose such as "person 1" is never mistaken for a placeholder.
struct PlaceholderMatcher: Sendable {
    enum Match: Equatable { case none, partial, full(end: Int, type: EntityType, number: Int) }

    let names: [(type: EntityType, name: [UInt8])]
    /// Lowercase first letters of the names, for a cheap pre-check.
    let firstLetters: Set<UInt8>

    init(vault: Vault) {
        self.init(types: vault.types)
    }

    init(types: Set<EntityType>) {
        names = types.sorted().map { ($0, PlaceholderMatcher.lowercaseNames[$0]!) }
        firstLetters = Set(names.map { $0.name[0] })
    }

    /// Each type's name in lowercase bytes, made once (a matcher is made for every answer).
    private static let lowercaseNames: [EntityType: [UInt8]] =
        Dictionary(uniqueKeysWithValues: EntityType.allCases.map { ($0, Array($0.rawValue.lowercased().utf8)) })

    /// Every type: what literal placeholders in user text are checked against (made once).
    static let allTypes = PlaceholderMatcher(types: Set(EntityType.allCases))

    @inline(__always) func mayStart(_ c: UInt8) -> Bool { c == UInt8(ascii: "<") || firstLetters.contains(lower(c)) }

    func match(_ b: UnsafeBufferPointer<UInt8>, at i: Int, atEnd: Bool) -> Match {
        let n = b.count
        var j = i
        var bracket = false
        if b[j] == UInt8(ascii: "<") {
            bracket = true
            j += 1
            var sp = 0
            while j < n, b[j] == 0x20, sp < 2 { j += 1; sp += 1 }
            if j == n { return atEnd ? .none : .partial }
        } else if i > 0, isWordByte(b[i - 1]) {
            return .none
        }
        var partial = false
        var best: Match = .none
        for (type, name) in names {
            var k = j, p = 0
            var ok = true
            while p < name.count {
                if k == n { partial = true; ok = false; break }
                let c = lower(b[k])
                if name[p] == UInt8(ascii: "_") {
                    guard c == UInt8(ascii: "_") || (bracket && (c == 0x20 || c == UInt8(ascii: "-"))) else { ok = false; break }
                } else if c != name[p] { ok = false; break }
                k += 1; p += 1
            }
            guard ok else { continue }
            // separator and number
            if k == n { partial = true; continue }
            let sepOK = b[k] == UInt8(ascii: "_") || (bracket && (b[k] == 0x20 || b[k] == UInt8(ascii: "-")))
            guard sepOK else { continue }
            k += 1
            let ds = k
            var number = 0
            while k < n, isDigit(b[k]), k - ds < 7 { number = number * 10 + Int(b[k] - 48); k += 1 }
            if k == n && !atEnd { partial = true; continue }
            guard k > ds else { continue }
            if k < n, isDigit(b[k]) { continue }
            var end = k
            var sp = 0
            var q = k
            while q < n, b[q] == 0x20, sp < 2, bracket { q += 1; sp += 1 }
            if q == n, bracket, !atEnd { partial = true; continue }
            if q < n, b[q] == UInt8(ascii: ">") { end = q + 1 }
            else if end < n, isWordByte(b[end]) { continue }
            if !bracket, end == k, end == n, !atEnd { partial = true; continue }
            best = .full(end: end, type: type, number: number)
            break
        }
        if case .full = best { return best }
        return partial && !atEnd ? .partial : .none
    }
}
