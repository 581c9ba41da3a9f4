import AirlockCore

@inline(__always) func isTokenByte(_ c: UInt8) -> Bool { isWordByte(c) || c == UInt8(ascii: "-") }
@inline(__always) func isBase64URL(_ c: UInt8) -> Bool { isWordByte(c) || c == UInt8(ascii: "-") }
/// Characters a password or key value can contain when written after `key=` / `password:`.
@inline(__always) func isValueByte(_ c: UInt8) -> Bool {
    guard c > 0x20, c < 0x7F else { return false }
    switch c {
    case UInt8(ascii: "\""), UInt8(ascii: "'"), UInt8(ascii: ","), UInt8(ascii: ";"), UInt8(ascii: "<"), UInt8(ascii: ">"),
         UInt8(ascii: "("), UInt8(ascii: ")"), UInt8(ascii: "["), UInt8(ascii: "]"), UInt8(ascii: "{"), UInt8(ascii: "}"), UInt8(ascii: "`"):
        return false
    default: return true
    }
}

/// Letter-initial words: vendor key prefixes, IBAN, passports, wallets, keywords that announce
/// a secret value, and (for capitalised words) names, months and titles.
extension ScanState {
    mutating func letterWord(_ ws: Int, _ we: Int) -> Int {
        let len = we - ws
        let f = b[ws]
        switch f {
        case UInt8(ascii: "A"):
            if len >= 20, has("AKIA", at: ws) || has("ASIA", at: ws) || has("ABIA", at: ws) || has("ACCA", at: ws) {
                let e = extent(from: ws + 4) { isUpper($0) || isDigit($0) }
                if e - ws == 20, e >= n || !isAlnum(b[e]) { emit(.awsAccessKey, ws, e, 0.95) }
                return max(e, we)
            }
            if has("AIza", at: ws) {
                let e = extent(from: ws + 4, isTokenByte)
                if e - ws == 39 { emit(.googleAPIKey, ws, e, 0.95) }
                return e
            }
        case UInt8(ascii: "g"):
            if len >= 40, has("gh", at: ws), b[ws + 3] == UInt8(ascii: "_"), [UInt8(ascii: "p"), UInt8(ascii: "o"), UInt8(ascii: "u"), UInt8(ascii: "s"), UInt8(ascii: "r")].contains(b[ws + 2]) {
                let e = extent(from: ws + 4, isAlnum)
                if e - ws >= 40, e >= n || !isWordByte(b[e]) { emit(.githubToken, ws, e, 0.97); return e }
            }
            if has("github_pat_", at: ws), len >= 11 + 22 { emit(.githubToken, ws, we, 0.97); return we }
        case UInt8(ascii: "s"):
            if has("sk-ant-", at: ws) {
                let e = extent(from: ws, isTokenByte)
                if e - ws >= 27 { emit(.anthropicAPIKey, ws, e, 0.97) }
                return e
            } else if has("sk-", at: ws) {
                let e = extent(from: ws + 3, isTokenByte)
                if e - ws - 3 >= 20, mixesLettersAndDigits(ws + 3, e) { emit(.openAIAPIKey, ws, e, 0.93) }
                return e   // consumed either way: "sk-sk-sk-..." stays linear
            } else if has("sk_live_", at: ws) || has("sk_test_", at: ws) {
                if len >= 8 + 16 { emit(.stripeKey, ws, we, 0.95); return we }
            }
        case UInt8(ascii: "p"), UInt8(ascii: "r"):
            if (has("pk_live_", at: ws) || has("pk_test_", at: ws) || has("rk_live_", at: ws) || has("rk_test_", at: ws)), len >= 8 + 16 {
                emit(.stripeKey, ws, we, 0.93); return we
            }
        case UInt8(ascii: "w"):
            if has("whsec_", at: ws), len >= 6 + 24 { emit(.stripeKey, ws, we, 0.93); return we }
        case UInt8(ascii: "x"):
            if len == 4, has("xox", at: ws), [UInt8(ascii: "b"), UInt8(ascii: "p"), UInt8(ascii: "a"), UInt8(ascii: "r"), UInt8(ascii: "s"), UInt8(ascii: "e")].contains(b[ws + 3]), we < n, b[we] == UInt8(ascii: "-")
                || len == 4 && has("xapp", at: ws) && we < n && b[we] == UInt8(ascii: "-") {
                let e = extent(from: ws, isTokenByte)
                if e - ws >= 20 { emit(.slackToken, ws, e, 0.95) }
                return e
            }
        case UInt8(ascii: "e"):
            if has("eyJ", at: ws), let e = jwt(ws) { return e }
        case UInt8(ascii: "b"):
            if has("bc1", at: ws), (14...74).contains(len) {
                var ok = true
                for k in ws..<we where !(isLower(b[k]) || isDigit(b[k])) { ok = false; break }
                if ok, Validators.bech32(Array(b[ws..<we])) { emit(.crypto, ws, we, 0.95); return we }
            }
        default: break
        }
        if isUpper(f), len >= 4, isUpper(b[ws + 1]), isDigit(b[ws + 2]), isDigit(b[ws + 3]), let L = Validators.ibanLength(country: f, b[ws + 1]) {
            if let e = iban(ws, L) { return e }
        }
        if len == 9, isUpper(f), let e = passport(ws, we) { return e }
        if we < n, let e = keywordValue(ws, we) { return e }
        if isUpper(f) { return capitalised(ws, we) }
        return we
    }

    func mixesLettersAndDigits(_ s: Int, _ e: Int) -> Bool {
        var l = false, d = false
        for k in s..<e { if isDigit(b[k]) { d = true } else if isLetter(b[k]) { l = true }; if l && d { return true } }
        return false
    }

    /// header.payload.signature, each base64url; header and payload are JSON objects ("eyJ").
    mutating func jwt(_ ws: Int) -> Int? {
        let e1 = extent(from: ws, isBase64URL)
        guard e1 - ws >= 10, e1 + 4 < n, b[e1] == UInt8(ascii: "."), has("eyJ", at: e1 + 1) else { return e1 }
        let e2 = extent(from: e1 + 1, isBase64URL)
        guard e2 - e1 > 10, e2 < n, b[e2] == UInt8(ascii: ".") else { return e2 }
        let e3 = extent(from: e2 + 1, isBase64URL)
        guard e3 - e2 > 10 else { return e3 }
        emit(.jwt, ws, e3, 0.95)
        return e3
    }

    mutating func iban(_ ws: Int, _ length: Int) -> Int? {
        var chars: [UInt8] = []
        chars.reserveCapacity(length)
        var i = ws
        while chars.count < length, i < n {
            let c = b[i]
            if isUpper(c) || isDigit(c) { chars.append(c); i += 1 }
            else if c == 0x20, chars.count % 4 == 0, i + 1 < n, isAlnum(b[i + 1]) { i += 1 }
            else { break }
        }
        guard chars.count == length, i >= n || !isAlnum(b[i]) else { return nil }
        // IBAN-shaped but failing mod-97: consumed silently so its digits raise nothing else.
        if Validators.ibanMod97(chars) { emit(.ibanCode, ws, i, 0.95) }
        return i
    }

    /// Letter + 8 digits (US next-generation or KR), or KR's 2020 format M123A4567; context required.
    mutating func passport(_ ws: Int, _ we: Int) -> Int? {
        var old = true
        for k in (ws + 1)..<we where !isDigit(b[k]) { old = false; break }
        let newKR = !old && isDigit(b[ws + 1]) && isDigit(b[ws + 2]) && isDigit(b[ws + 3]) && isUpper(b[ws + 4])
            && (ws + 5..<we).allSatisfy { isDigit(b[$0]) }
        guard old || newKR, context(.passport, ws, we) else { return nil }
        let f = b[ws]
        let korean = context(.krContext, ws, we) || (newKR) || ([UInt8(ascii: "M"), UInt8(ascii: "S"), UInt8(ascii: "R"), UInt8(ascii: "G"), UInt8(ascii: "D")].contains(f) && !context(.usContext, ws, we))
        emit(korean ? .krPassport : .usPassport, ws, we, 0.85)
        return we
    }

    /// `password: value`, `api_key="value"`, `token is value`, `Bearer value`.
    mutating func keywordValue(_ ws: Int, _ we: Int) -> Int? {
        let len = we - ws
        guard len >= 3, len <= 40 else { return nil }
        // Cheap test of what follows first: an assignment, a quote, " is ", or "Bearer ".
        let c = b[we]
        switch c {
        case UInt8(ascii: ":"), UInt8(ascii: "="), UInt8(ascii: "\""), UInt8(ascii: "'"): break
        case 0x20:
            guard we + 1 < n else { return nil }
            let d = b[we + 1]
            let ok = d == UInt8(ascii: ":") || d == UInt8(ascii: "=") || hasFolded("is ", at: we + 1) || hasFolded("was ", at: we + 1)
                || len == 6 && hasFolded("bearer", at: ws)
            guard ok else { return nil }
        default: return nil
        }
        var passwordLike = false, keyLike = false
        var k = ws
        while k + 3 <= we {
            let c0 = lower(b[k]), c1 = lower(b[k + 1]), c2 = lower(b[k + 2])
            if c0 == UInt8(ascii: "p") && (c1 == UInt8(ascii: "a") && c2 == UInt8(ascii: "s") || c1 == UInt8(ascii: "w") && c2 == UInt8(ascii: "d")) { passwordLike = true; break }
            if c0 == UInt8(ascii: "k") && c1 == UInt8(ascii: "e") && c2 == UInt8(ascii: "y") { keyLike = true }
            if c0 == UInt8(ascii: "t") && c1 == UInt8(ascii: "o") && c2 == UInt8(ascii: "k") && hasFolded("token", at: k) { keyLike = true }
            if c0 == UInt8(ascii: "s") && c1 == UInt8(ascii: "e") && c2 == UInt8(ascii: "c") && hasFolded("secret", at: k) { keyLike = true }
            if c0 == UInt8(ascii: "a") && c1 == UInt8(ascii: "u") && c2 == UInt8(ascii: "t") && hasFolded("auth", at: k) { keyLike = true }
            if c0 == UInt8(ascii: "b") && hasFolded("bearer", at: k) { keyLike = true }
            if c0 == UInt8(ascii: "c") && hasFolded("credential", at: k) { keyLike = true }
            k += 1
        }
        guard passwordLike || keyLike else { return nil }
        let bearer = hasFolded("bearer", at: ws) && len == 6
        // The value is scanned again by the main loop, so a vendor-specific key inside it
        // (AKIA..., sk-...) still wins over the generic finding.
        _ = secretValue(after: we, passwordLike: passwordLike, bearer: bearer)
        return nil
    }

    /// Reads the value after a secret keyword and emits it when it looks like a credential.
    mutating func secretValue(after i0: Int, passwordLike: Bool, bearer: Bool = false) -> Int? {
        var i = i0
        var sawAssign = bearer
        var steps = 0
        while i < n, steps < 6 {
            let c = b[i]
            if c == UInt8(ascii: ":") || c == UInt8(ascii: "=") { sawAssign = true; i += 1 }
            else if c == 0x20 || c == UInt8(ascii: "\"") || c == UInt8(ascii: "'") || c == 0x09 { i += 1 }
            else if tri(i) == 0xEF_BC_9A { sawAssign = true; i += 3 }   // full-width colon
            else if !sawAssign, hasFolded("is ", at: i) || hasFolded("was ", at: i) {
                sawAssign = true; i += b[i] | 0x20 == UInt8(ascii: "i") ? 3 : 4
            } else { break }
            steps += 1
        }
        guard sawAssign, i < n else { return nil }
        var e = extent(from: i, limit: 512, isValueByte)
        while e > i, b[e - 1] == UInt8(ascii: ".") || b[e - 1] == UInt8(ascii: ":") { e -= 1 }
        let len = e - i
        guard len >= (passwordLike ? 6 : 16) else { return nil }
        var lowerC = false, upperC = false, digitC = false, sym = false
        // Value bytes are printable ASCII; the histogram is a reused scratch buffer.
        for k in i..<e {
            let c = b[k]
            if isLower(c) { lowerC = true } else if isUpper(c) { upperC = true } else if isDigit(c) { digitC = true } else { sym = true }
            histogram[Int(c)] += 1
        }
        let classes = (lowerC ? 1 : 0) + (upperC ? 1 : 0) + (digitC ? 1 : 0) + (sym ? 1 : 0)
        var entropy = 0.0
        for k in i..<e {
            let c = histogram[Int(b[k])]
            if c > 0 {
                let p = Double(c) / Double(len)
                entropy -= p * binaryLog(p) * Double(c)
                histogram[Int(b[k])] = 0
            }
        }
        // Placeholders people write instead of a secret.
        if b[i] == UInt8(ascii: "$") || b[i] == UInt8(ascii: "%") || b[i] == UInt8(ascii: "*") { return nil }
        if passwordLike {
            guard classes >= 2, entropy >= 2.0 else { return nil }
            emit(.genericSecret, i, e, 0.8)
        } else {
            // Real keys carry digits; "YOUR_API_KEY_HERE" and identifiers do not.
            guard classes >= 2, entropy >= 3.0, digitC || (lowerC && upperC && len >= 24 && entropy >= 3.5) else { return nil }
            emit(.genericSecret, i, e, entropy >= 3.5 ? 0.85 : 0.7)
        }
        return e
    }

    /// -----BEGIN ... PRIVATE KEY----- through the matching END line (or the base64 body).
    mutating func pem(at i: Int) -> Int {
        guard has("-----BEGIN ", at: i) else { return i + 1 }
        var j = i + 11
        let headerLimit = min(n, j + 40)
        var found = false
        while j + 16 <= headerLimit {
            if has("PRIVATE KEY-----", at: j) { found = true; j += 16; break }
            j += 1
        }
        guard found else { return i + 1 }
        let limit = min(n, j + 65536)
        var k = max(j, noPEMEndBefore)
        while k + 9 <= limit {
            if b[k] == UInt8(ascii: "-"), has("-----END ", at: k) {
                // The END line: printable ASCII up to its closing dashes (or the line's end).
                var e = k + 9
                while e < n, e < k + 60, b[e] >= 0x20, b[e] < 0x7F, !has("-----", at: e) { e += 1 }
                if has("-----", at: e) { e += 5 }
                emit(.privateKey, i, e, 0.99)
                return e
            }
            k += 1
        }
        noPEMEndBefore = max(noPEMEndBefore, limit - 9)
        // Truncated block: the body is the base64 lines after the header.
        var e = j
        while e < n, isAlnum(b[e]) || b[e] == UInt8(ascii: "+") || b[e] == UInt8(ascii: "/") || b[e] == UInt8(ascii: "=") || isSpace(b[e]) { e += 1 }
        while e > j, isSpace(b[e - 1]) { e -= 1 }
        emit(.privateKey, i, e, 0.95)
        return e
    }
}

@inline(__always) func binaryLog(_ x: Double) -> Double {
    // Avoids Foundation in the detector; ln via the standard library's `Double.log` is not public.
    var m = x, e = 0.0
    while m >= 2 { m /= 2; e += 1 }
    while m < 1 { m *= 2; e -= 1 }
    // series for log2(m), m in [1,2)
    let y = (m - 1) / (m + 1), y2 = y * y
    var term = y, sum = 0.0, k = 1.0
    for _ in 0..<12 { sum += term / k; term *= y2; k += 2 }
    return e + 2 * sum / 0.6931471805599453
}
