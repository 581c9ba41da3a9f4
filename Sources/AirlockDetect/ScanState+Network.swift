import AirlockCore

@inline(__always) func isEmailLocalByte(_ c: UInt8) -> Bool {
    isAlnum(c) || c == UInt8(ascii: ".") || c == UInt8(ascii: "_") || c == UInt8(ascii: "%") || c == UInt8(ascii: "+") || c == UInt8(ascii: "-")
}

/// Emails (incl. IDN domains), URLs, IPv6 and MAC addresses.
extension ScanState {
    /// Called at '@': walks back over the local part, forward over the domain labels.
    mutating func email(at atSign: Int) -> Int {
        let at = atSign
        var s = at
        while s > 0, at - s < 64, isEmailLocalByte(b[s - 1]) { s -= 1 }
        while s < at, b[s] == UInt8(ascii: ".") || b[s] == UInt8(ascii: "-") || b[s] == UInt8(ascii: "+") { s += 1 }
        guard s < at, b[at - 1] != UInt8(ascii: ".") else { return at + 1 }
        // Domain: labels of ASCII letters/digits/hyphens or non-ASCII letters, dot separated.
        var i = at + 1
        var lastDot = -1
        var labelStart = i
        var labelASCII = true, labelNonASCII = false
        var end = -1
        while i < n, i - at < 256 {
            let c = b[i]
            if isAlnum(c) || c == UInt8(ascii: "-") {
                if labelNonASCII && lastDot >= 0 { break }          // "例え.jpです" stops at the kana
                labelASCII = true; i += 1
            } else if c >= 0x80 {
                if labelASCII && i > labelStart && lastDot >= 0 { break } // "example.com으로"
                if isCJKPunctuation(i) { break }
                let l = utf8Length(c)
                if i + l > n { break }   // truncated UTF-8 at the end of the buffer
                labelNonASCII = true; labelASCII = false
                i += l
            } else if c == UInt8(ascii: "."), i > labelStart, i + 1 < n, isAlnum(b[i + 1]) || b[i + 1] >= 0x80 {
                end = i; lastDot = i; i += 1; labelStart = i; labelASCII = false; labelNonASCII = false
                continue
            } else { break }
            if lastDot >= 0 { end = i }
        }
        guard lastDot > at + 1, end > lastDot + 1 else { return at + 1 }
        // TLD: two or more letters, or a non-ASCII label, or punycode.
        var tldOK = false
        if b[lastDot + 1] >= 0x80 { tldOK = true }
        else {
            tldOK = end - lastDot - 1 >= 2
            for k in (lastDot + 1)..<end where !isLetter(b[k]) && !(b[k] == UInt8(ascii: "-") || isDigit(b[k])) { tldOK = false }
            if isDigit(b[lastDot + 1]) { tldOK = false }
        }
        guard tldOK else { return at + 1 }
        emit(.emailAddress, s, end, 0.95)
        return end
    }

    @inline(__always) func utf8Length(_ c: UInt8) -> Int {
        c < 0xC0 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4
    }

    /// CJK and full-width punctuation never belongs to a name or domain.
    @inline(__always) func isCJKPunctuation(_ i: Int) -> Bool {
        let t = tri(i)
        return (t >= 0xE3_80_80 && t <= 0xE3_80_BF) || (t >= 0xEF_BC_80 && t <= 0xEF_BD_9F) || (t >= 0xE2_80_80 && t <= 0xE2_81_AF)
    }

    /// Called at "://": the scheme is the letters before it.
    mutating func url(colon: Int) -> Int {
        var s = colon
        while s > 0, colon - s < 16, isLetter(b[s - 1]) || b[s - 1] == UInt8(ascii: "+") || isDigit(b[s - 1]) && s < colon { s -= 1 }
        while s < colon, !isLetter(b[s]) { s += 1 }
        guard s < colon else { return colon + 3 }
        let schemeLen = colon - s
        let web = hasFolded("http", at: s) && (schemeLen == 4 || schemeLen == 5 && lower(b[s + 4]) == UInt8(ascii: "s"))
            || hasFolded("ftp", at: s) || hasFolded("ws", at: s) && schemeLen <= 3
        var e = colon + 3
        var at = -1, colon2 = -1, parens = 0, authorityDone = false
        while e < n {
            let c = b[e]
            if c <= 0x20 || c >= 0x80 || c == UInt8(ascii: "\"") || c == UInt8(ascii: "'") || c == UInt8(ascii: "<") || c == UInt8(ascii: ">") || c == UInt8(ascii: "`") || c == UInt8(ascii: "\\") { break }
            if c == UInt8(ascii: "(") { parens += 1 }
            if c == UInt8(ascii: ")") { if parens == 0 { break }; parens -= 1 }
            if !authorityDone {
                if c == UInt8(ascii: "/") || c == UInt8(ascii: "?") || c == UInt8(ascii: "#") { authorityDone = true }
                else if c == UInt8(ascii: "@") { at = e }
                else if c == UInt8(ascii: ":"), at < 0, colon2 < 0 { colon2 = e }
            }
            e += 1
        }
        while e > colon + 3, [UInt8(ascii: "."), UInt8(ascii: ","), UInt8(ascii: ";"), UInt8(ascii: ":"), UInt8(ascii: "!"), UInt8(ascii: "?")].contains(b[e - 1]) { e -= 1 }
        guard e > colon + 4 else { return colon + 3 }
        let credentials = at > colon + 3 && colon2 > colon + 3 && colon2 < at && at + 1 < e
        if credentials { emit(.url, s, e, 0.95) }
        else if web { emit(.url, s, e, 0.6) }
        return e   // skipped whole even when not reported, so "x://x://..." stays linear
    }

    /// IPv6 (incl. "::" compression and an IPv4 tail) or MAC (6 hex pairs with ':' or '-').
    mutating func hexColon(at s: Int) -> Int? {
        // MAC first: exactly xx:xx:xx:xx:xx:xx or xx-xx-...
        if s + 17 <= n, isHex(b[s]), isHex(b[s + 1]), b[s + 2] == UInt8(ascii: ":") || b[s + 2] == UInt8(ascii: "-") {
            let sep = b[s + 2]
            var ok = true
            for g in 0..<6 {
                let p = s + g * 3
                if !isHex(b[p]) || !isHex(b[p + 1]) { ok = false; break }
                if g < 5, b[p + 2] != sep { ok = false; break }
            }
            if ok, s + 17 >= n || !(isHex(b[s + 17]) || b[s + 17] == sep) {
                var score = 0.85
                if negativeContext(s) { score -= 0.3 }
                emit(.macAddress, s, s + 17, score)
                return s + 17
            }
        }
        var i = s
        var groupsSeen = 0, doubleColon = false, lastGroupStart = s
        var sawLetter = false
        while i < n {
            let gs = i
            while i < n, isHex(b[i]), i - gs < 5 { if !isDigit(b[i]) { sawLetter = true }; i += 1 }
            let gl = i - gs
            if gl > 4 { return nil }
            if gl > 0 { groupsSeen += 1; lastGroupStart = gs }
            if groupsSeen > 8 { return nil }
            if i < n, b[i] == UInt8(ascii: "."), gl > 0, gl <= 3, groupsSeen >= 2 {
                // IPv4 tail
                var j = gs, dots = 0, cur = 0, digitsInPart = 0
                while j < n, isDigit(b[j]) || b[j] == UInt8(ascii: ".") {
                    if b[j] == UInt8(ascii: ".") { dots += 1; if digitsInPart == 0 || cur > 255 { return nil }; cur = 0; digitsInPart = 0 }
                    else { cur = cur * 10 + Int(b[j] - 48); digitsInPart += 1 }
                    j += 1
                }
                guard dots == 3, digitsInPart > 0, cur <= 255, doubleColon || groupsSeen == 7 else { return nil }
                emit(.ipAddress, s, j, 0.85)
                return j
            }
            if i + 1 < n, b[i] == UInt8(ascii: ":"), b[i + 1] == UInt8(ascii: ":") {
                if doubleColon { return nil }
                doubleColon = true; i += 2
                if i >= n || !isHex(b[i]) { break }
                continue
            }
            if i + 1 < n, b[i] == UInt8(ascii: ":"), isHex(b[i + 1]), gl > 0 { i += 1; continue }
            break
        }
        _ = lastGroupStart
        var e = i
        if e > s, b[e - 1] == UInt8(ascii: ":"), !(e >= 2 && b[e - 2] == UInt8(ascii: ":")) { e -= 1 }
        guard groupsSeen <= 8, doubleColon ? groupsSeen >= 2 : groupsSeen == 8 else { return nil }
        if e < n, isWordByte(b[e]) { return nil }
        // "12:30::45"-like clock noise: require a hex letter or the standard shapes.
        guard sawLetter || doubleColon && groupsSeen >= 3 || groupsSeen == 8 else { return nil }
        var score = 0.85
        if negativeContext(s) { score -= 0.3 }
        emit(.ipAddress, s, e, score)
        return e
    }
}
