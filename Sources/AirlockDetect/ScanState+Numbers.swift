import AirlockCore

/// Numbers: phones, cards, national IDs, IPv4, dates. A "run" is up to 8 digit groups joined
/// by single separators; it is classified as a whole, then by shorter prefixes, so a phone
/// followed by another number still matches. A run that matches nothing is skipped as a whole
/// when its groups are joined by punctuation (so "1.2.3.4.5" never yields "2.3.4.5").
extension ScanState {
    enum NumberMatch { case none, matched(Int), consumed(Int) }
    static let twoDigitCountryCodes: Set<Int> = [20, 27, 30, 31, 32, 33, 34, 36, 39, 40, 41, 43, 44, 45, 46, 47, 48, 49, 51, 52, 53, 54, 55, 56, 57, 58, 60, 61, 62, 63, 64, 65, 66, 81, 82, 84, 86, 90, 91, 92, 93, 94, 95, 98]

    mutating func numeric(at start: Int) -> Int {
        var i = start
        var plus = false
        if b[i] == UInt8(ascii: "+") { plus = true; i += 1 }
        if i < n, b[i] == UInt8(ascii: "(") { i += 1 }
        groups.removeAll(keepingCapacity: true)
        digits.removeAll(keepingCapacity: true)
        digitsGroups = 0
        var sep: UInt8 = 0
        while groups.count < 8 {
            let gs = i
            while i < n, isDigit(b[i]) { i += 1 }
            if i == gs { break }
            groups.append(NumberGroup(start: gs, end: i, sep: sep))
            if i - gs > 19 { break }
            var j = i, spaces = 0, punct = 0, paren = 0
            var kind: UInt8 = 0
            while j < n, j - i < 3 {
                let c = b[j]
                if c == 0x20 { spaces += 1 }
                else if c == UInt8(ascii: "-") || c == UInt8(ascii: ".") || c == UInt8(ascii: "/") { punct += 1; kind = c }
                else if c == UInt8(ascii: "(") || c == UInt8(ascii: ")") { paren += 1 }
                else { break }
                j += 1
            }
            if j == i || spaces > 1 || punct > 1 || paren > 1 || j >= n || !isDigit(b[j]) { break }
            sep = punct > 0 ? kind : (paren > 0 ? UInt8(ascii: "p") : 0x20)
            i = j
        }
        guard !groups.isEmpty else { return start + 1 }
        let first = groups[0]
        // CJK dates: 1990년 3월 15일 / 1990年3月15日
        if groups.count == 1, first.count == 4, let e = cjkDate(first) { return e }
        // "15 March 1990"
        if groups.count == 1, first.count <= 2, first.end + 1 < n, b[first.end] == 0x20, isUpper(b[first.end + 1]) {
            if let e = englishDate(dayFirst: first) { return e }
        }
        var k = groups.count
        while k >= 1 {
            switch classify(k, start: start, plus: plus) {
            case .matched(let e), .consumed(let e): return e
            case .none: k -= 1
            }
        }
        // US street address: house number then a capitalised street name.
        if first.count <= 5, first.end + 1 < n, b[first.end] == 0x20, isUpper(b[first.end + 1]) || isDigit(b[first.end + 1]), !plus,
           let e = usAddress(numberStart: first.start, numberEnd: first.end) {
            return e
        }
        var e = first.end
        var g = 1
        while g < groups.count, groups[g].sep != 0x20, groups[g].sep != UInt8(ascii: "p") { e = groups[g].end; g += 1 }
        // Equal-width groups joined by spaces ("4898 0204 9514 6837") are one number: no restart inside.
        if groups.count >= 3, (1..<groups.count).allSatisfy({ groups[$0].sep == 0x20 && groups[$0].count == first.count }) { e = groups[groups.count - 1].end }
        return e
    }

    /// Classifies groups[0..<k]. Each branch knows its layout; checksums decide where they exist.
    mutating func classify(_ k: Int, start: Int, plus: Bool) -> NumberMatch {
        let end = groups[k - 1].end
        // The run must not continue with the same kind of punctuation and a digit.
        if k < groups.count, groups[k].sep != 0x20, groups[k].sep != UInt8(ascii: "p") { return .none }
        // "4799 2198 5022 9742": a further group of the same width belongs to the same number.
        if k < groups.count, k > 1, groups[k].sep == 0x20, groups[k].count == groups[k - 1].count, groups[0].count == groups[k].count { return .none }
        // A CN ID check character X.
        var trailingX = false
        if end < n, b[end] | 0x20 == UInt8(ascii: "x"), end + 1 >= n || !isWordByte(b[end + 1]) { trailingX = true }
        if end < n, isWordByte(b[end]), !trailingX { return .none }
        if end < n, b[end] == UInt8(ascii: "."), end + 1 < n, isDigit(b[end + 1]) { return .none }
        var total = 0
        for g in 0..<k { total += groups[g].count }
        if total > 19 { return .none }
        // `digits` holds the longest prefix tried so far; shorter prefixes just truncate it.
        if digits.count >= total, digitsGroups >= k { digits.removeLast(digits.count - total) }
        else {
            digits.removeAll(keepingCapacity: true)
            for g in 0..<k { for p in groups[g].start..<groups[g].end { digits.append(b[p] - 48) } }
        }
        digitsGroups = k
        // A leading "(" belongs to the number only when it closes after the first group: "(555) 123".
        let parenArea = start < groups[0].start && b[groups[0].start - 1] == UInt8(ascii: "(") && groups[0].end < n && b[groups[0].end] == UInt8(ascii: ")")
        let s = plus ? start : (parenArea ? groups[0].start - 1 : groups[0].start)
        var uniform: UInt8 = k > 1 ? groups[1].sep : 0
        for g in 1..<max(1, k) where groups[g].sep != uniform { uniform = 1 }   // 1 = mixed
        @inline(__always) func len(_ g: Int) -> Int { groups[g].count }

        if plus { return phoneE164(k, s, end) }

        // IPv4
        if k == 4, uniform == UInt8(ascii: ".") {
            var ok = true
            for g in 0..<4 {
                let c = len(g)
                if c > 3 || (c > 1 && b[groups[g].start] == 48) { ok = false; break }
                var v = 0
                for p in groups[g].start..<groups[g].end { v = v * 10 + Int(b[p] - 48) }
                if v > 255 { ok = false; break }
            }
            if ok {
                var score = 0.6
                if context(.ip, s, end, after: 0) { score += 0.3 }
                if negativeContext(s) { score -= 0.3 }
                emit(.ipAddress, s, end, score)
                return .matched(end)
            }
        }

        // Dates (reported only as a date of birth, with context; otherwise silent but consumed)
        if k == 3, uniform == UInt8(ascii: "-") || uniform == UInt8(ascii: ".") || uniform == UInt8(ascii: "/") {
            var isDate = false
            if len(0) == 4, len(1) <= 2, len(2) <= 2 {
                isDate = validDOB(year: num(0), month: num(1), day: num(2))
            } else if len(0) <= 2, len(1) <= 2, len(2) == 4 {
                isDate = validDOB(year: num(2), month: num(1), day: num(0)) || validDOB(year: num(2), month: num(0), day: num(1))
            }
            if isDate {
                var e = end
                if e < n, b[e] == UInt8(ascii: ".") { e += 0 }
                if dobContext(s, e) { emit(.dateOfBirth, s, e, 0.85); return .matched(e) }
                return .consumed(e)
            }
        }

        // KR RRN / FRN: YYMMDD-GNNNNNC
        if (k == 2 && len(0) == 6 && len(1) == 7 && uniform == UInt8(ascii: "-")) || (k == 1 && total == 13) {
            if let r = Validators.koreanRRN(digits) {
                let type: EntityType = r.kind == .foreigner ? .krFRN : .krRRN
                let ctx = context(.rrn, s, end)
                var score: Double
                if r.checksumValid { score = (k == 2 ? 0.9 : 0.7) + (ctx ? 0.1 : 0) }
                else { score = ctx ? 0.65 : 0 }   // post-2020 numbers carry no check digit
                if negativeContext(s), !ctx { score -= 0.4 }
                if score > 0 { emit(type, s, end, score); if score >= scanner.configuration.minimumScore { return .matched(end) } }
            }
        }

        // CN resident ID: 18 characters, the last may be X
        if (total == 18 || (total == 17 && trailingX)) && (k == 1 || (k == 3 && len(0) == 6 && len(1) == 8 && uniform == 0x20)) {
            var d = digits
            if trailingX { d.append(10) }
            if d.count == 18, Validators.chineseResidentID(d) {
                let e = trailingX ? end + 1 : end
                emit(.cnResidentID, s, e, 0.85 + (context(.cnID, s, e) ? 0.1 : 0))
                return .matched(e)
            }
        }
        if trailingX { return .none }

        // Credit cards
        if (13...19).contains(total) {
            var layoutOK = k == 1
            if k > 1, uniform == 0x20 || uniform == UInt8(ascii: "-") {
                var fours = true
                for g in 0..<(k - 1) where len(g) != 4 { fours = false }
                layoutOK = fours && len(k - 1) <= 4 || (k == 3 && len(0) == 4 && len(1) == 6 && (len(2) == 5 || len(2) == 4))
            }
            if layoutOK, Validators.cardPrefixValid(digits), Validators.luhn(digits) {
                var score = k > 1 ? 0.9 : 0.8
                if context(.card, s, end) { score += 0.1 }
                if negativeContext(s) { score -= 0.35 }
                emit(.creditCard, s, end, score)
                if score >= scanner.configuration.minimumScore { return .matched(end) }
            }
        }

        // KR driver licence: RR-YY-NNNNNN-CC
        if k == 4, uniform == UInt8(ascii: "-"), len(0) == 2, len(1) == 2, len(2) == 6, len(3) == 2 {
            let region = num(0)
            if (11...28).contains(region) {
                emit(.krDriverLicense, s, end, 0.7 + (context(.driverLicense, s, end) ? 0.25 : 0))
                return .matched(end)
            }
        }

        // KR BRN: NNN-NN-NNNNN
        if total == 10, (k == 3 && len(0) == 3 && len(1) == 2 && uniform == UInt8(ascii: "-")) || k == 1, Validators.koreanBRN(digits) {
            let ctx = context(.brn, s, end)
            let score = (k == 3 ? 0.8 : 0.35) + (ctx ? 0.15 : 0) + (k == 1 && ctx ? 0.2 : 0) - (negativeContext(s) ? 0.3 : 0)
            emit(.krBRN, s, end, score)
            if score >= scanner.configuration.minimumScore { return .matched(end) }
        }

        // US SSN: AAA-GG-SSSS
        if total == 9, (k == 3 && len(0) == 3 && len(1) == 2 && (uniform == UInt8(ascii: "-") || uniform == 0x20)) || k == 1, Validators.usSSN(digits) {
            let ctx = context(.ssn, s, end)
            let score = (k == 3 ? (uniform == 0x20 ? 0.45 : 0.65) : 0.2) + (ctx ? 0.3 : 0) + (k == 1 && ctx ? 0.2 : 0) - (negativeContext(s) ? 0.3 : 0)
            emit(.usSSN, s, end, score)
            if score >= scanner.configuration.minimumScore { return .matched(end) }
        }

        // JP My Number: 12 digits, often 4-4-4
        if total == 12, k == 1 || (k == 3 && len(0) == 4 && len(1) == 4 && (uniform == 0x20 || uniform == UInt8(ascii: "-"))), Validators.japaneseMyNumber(digits) {
            let ctx = context(.myNumber, s, end)
            let score = (k == 3 ? 0.55 : 0.35) + (ctx ? 0.4 : 0) - (negativeContext(s) ? 0.3 : 0)
            emit(.jpMyNumber, s, end, score)
            if score >= scanner.configuration.minimumScore { return .matched(end) }
        }

        // US passport: 9 digits with passport context
        if k == 1, total == 9, context(.passport, s, end) {
            emit(.usPassport, s, end, 0.8)
            return .matched(end)
        }

        if let score = domesticPhoneScore(k, total: total, uniform: uniform) {
            var sc = score
            if context(.phone, s, end) { sc += 0.2 }
            if negativeContext(s) { sc -= 0.35 }
            emit(.phoneNumber, s, end, sc)
            if sc >= scanner.configuration.minimumScore { return .matched(end) }
        }
        return .none
    }

    @inline(__always) func num(_ g: Int) -> Int {
        var v = 0
        for p in groups[g].start..<groups[g].end { v = v * 10 + Int(b[p] - 48) }
        return v
    }

    func validDOB(year: Int, month: Int, day: Int) -> Bool {
        (1900...2026).contains(year) && Validators.date(year: year, month: month, day: day)
    }

    func dobContext(_ s: Int, _ e: Int) -> Bool {
        ContextWords.dob.occurs(in: b, s - window, s) || ContextWords.dobAfter.occurs(in: b, e, e + 10)
    }

    /// Domestic phone layouts (no leading +). Returns a base score or nil.
    func domesticPhoneScore(_ k: Int, total: Int, uniform: UInt8) -> Double? {
        let d = digits
        @inline(__always) func len(_ g: Int) -> Int { groups[g].count }
        if k > 1 {
            for g in 1..<k where groups[g].sep == UInt8(ascii: "/") && !(k == 2 && d[0] == 0) { return nil }
        }
        if d[0] == 0 {
            guard total >= 9, total <= 12, d[1] != 0 else { return nil }
            if k == 1 {
                if total == 11, d[1] == 1, d[2] == 0 { return 0.6 }            // KR mobile 010...
                if (total == 10 || total == 11), [7, 8, 9].contains(d[1]), d[2] == 0 { return 0.4 } // JP mobile
                return 0.3
            }
            if k == 3, len(2) == 4 || (len(2) == 3 && total == 10), len(0) >= 2, len(0) <= 5 {
                if d[1] == 1, [0, 1, 6, 7, 8, 9].contains(d[2]), len(0) == 3 { return 0.8 }   // KR mobile
                if uniform != 1 { return 0.75 }                                           // KR/JP landline, UK 020
            }
            if k == 5, total == 10, (0..<5).allSatisfy({ len($0) == 2 }), uniform == 0x20 || uniform == UInt8(ascii: ".") { return 0.8 } // FR
            if k == 2, len(0) >= 3, len(0) <= 5, len(1) >= 5, len(1) <= 8 { return 0.65 }  // UK 07700 900123, DE 030 1234567, CN 010-12345678
            if k == 3, uniform != 1, len(0) >= 3, len(0) <= 5, len(1) >= 3, len(2) >= 3, len(2) <= 4 { return 0.6 } // UK 0161 496 0123
            return nil
        }
        // CN mobile 1[3-9]X XXXX XXXX
        if d[0] == 1, total == 11, d[1] >= 3 {
            if k == 1 { return 0.55 }
            if k == 3, len(0) == 3, len(1) == 4, len(2) == 4, uniform != 1 { return 0.75 }
        }
        // NANP
        var nat = d[...]
        var lead = 0
        if total == 11, d[0] == 1 { nat = d[1...]; lead = 1 }
        guard nat.count == 10 else { return nil }
        let n0 = nat[nat.startIndex], n3 = nat[nat.startIndex + 3]
        guard n0 >= 2 else { return nil }
        if k == 1 { return n3 >= 2 ? (lead == 1 ? 0.35 : 0.3) : nil }
        let g0 = lead
        guard k == 3 + lead, len(g0) == 3, len(g0 + 1) == 3, len(g0 + 2) == 4 else { return nil }
        let s1 = groups[g0 + 1].sep, s2 = groups[g0 + 2].sep
        if s1 == s2 || s1 == UInt8(ascii: "p") { return n3 >= 2 ? 0.75 : 0.65 }
        return nil
    }

    /// Numbers written with a leading +: an E.164 country code, then the national number.
    mutating func phoneE164(_ k: Int, _ s: Int, _ end: Int) -> NumberMatch {
        let d = digits
        let total = d.count
        guard total >= 8, total <= 15 else { return .none }
        var cc = 0, ccLen = 0
        if k > 1, groups[0].count <= 3 { ccLen = groups[0].count }
        else if d[0] == 1 || d[0] == 7 { ccLen = 1 }
        else {
            let two = Int(d[0]) * 10 + Int(d[1])
            ccLen = ScanState.twoDigitCountryCodes.contains(two) ? 2 : 3
        }
        for p in 0..<ccLen { cc = cc * 10 + Int(d[p]) }
        let national = total - ccLen
        var nat = Array(d[ccLen...])
        if nat.first == 0 { nat.removeFirst() }   // "+44 (0)20 ..." style
        var score = 0.7
        switch cc {
        case 1: score = nat.count == 10 && nat[0] >= 2 && nat[3] >= 2 ? 0.85 : 0.45
        case 82: score = (8...10).contains(nat.count) && [1, 2, 3, 4, 5, 6, 7].contains(nat[0]) ? 0.85 : 0.5
        case 86: score = nat.count == 11 && nat[0] == 1 ? 0.85 : ((9...11).contains(nat.count) ? 0.7 : 0.45)
        case 81: score = (9...10).contains(nat.count) ? 0.85 : 0.5
        case 44: score = nat.count == 10 ? 0.85 : 0.5
        case 49: score = (6...13).contains(nat.count) ? 0.8 : 0.5
        case 33: score = nat.count == 9 ? 0.85 : 0.5
        default: score = (6...13).contains(national) ? 0.7 : 0.45
        }
        if context(.phone, s, end) { score += 0.1 }
        if negativeContext(s) { score -= 0.3 }
        emit(.phoneNumber, s, end, score)
        return score >= scanner.configuration.minimumScore ? .matched(end) : .none
    }

    /// 1990년 3월 15일 / 1990年3月15日 (only reported as a date of birth, with context).
    mutating func cjkDate(_ g: NumberGroup) -> Int? {
        let year = num(0)
        var i = g.end
        let y = tri(i)
        guard y == 0xEB_85_84 || y == 0xE5_B9_B4 else { return nil }   // 년 年
        i += 3
        if i < n, b[i] == 0x20 { i += 1 }
        let ms = i
        while i < n, isDigit(b[i]), i - ms < 2 { i += 1 }
        guard i > ms else { return nil }
        var month = 0
        for p in ms..<i { month = month * 10 + Int(b[p] - 48) }
        let m = tri(i)
        guard m == 0xEC_9B_94 || m == 0xE6_9C_88 else { return nil }   // 월 月
        i += 3
        if i < n, b[i] == 0x20 { i += 1 }
        let ds = i
        while i < n, isDigit(b[i]), i - ds < 2 { i += 1 }
        guard i > ds else { return nil }
        var day = 0
        for p in ds..<i { day = day * 10 + Int(b[p] - 48) }
        let dch = tri(i)
        guard dch == 0xEC_9D_BC || dch == 0xE6_97_A5 else { return nil } // 일 日
        i += 3
        guard validDOB(year: year, month: month, day: day) else { return i }
        if dobContext(g.start, i) { emit(.dateOfBirth, g.start, i, 0.85) }
        return i
    }
}
