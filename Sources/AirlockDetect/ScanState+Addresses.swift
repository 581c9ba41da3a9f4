import AirlockCore

/// Street addresses: US "123 Main Street[, Apt 4][, City, ST 12345]" and Korean road-name
/// or lot-number addresses "서울특별시 강남구 테헤란로 152[, 101동 1203호]".
extension ScanState {
    static let krProvinces: [[UInt8]] = ["서울", "부산", "대구", "인천", "광주", "대전", "울산", "세종", "경기", "강원", "충북", "충남", "전북", "전남", "경북", "경남", "제주"].map { Array($0.utf8) }
    /// Last syllables of administrative units: 시 도 구 군 읍 면 동.
    static let krAdminSuffix: [UInt32] = [0xEC_8B_9C, 0xEB_8F_84, 0xEA_B5_AC, 0xEA_B5_B0, 0xEC_9D_8D, 0xEB_A9_B4, 0xEB_8F_99]

    mutating func koreanAddress(roadStart: Int, roadEnd: Int, road: Bool) -> Int? {
        var start = roadStart
        var admin = 0
        var p = roadStart
        while admin < 4, p >= 4, b[p - 1] == 0x20 {
            var q = p - 1
            while q >= 3, hangul(q - 3) != nil { q -= 3 }
            guard q < p - 1 else { break }
            let last = tri(p - 4)
            let isAdmin = ScanState.krAdminSuffix.contains(last) || ScanState.krProvinces.contains { bytesEqual(q, p - 1, $0) }
            guard isAdmin else { break }
            start = q; p = q; admin += 1
        }
        // A lot-number address needs a 구/군/시 before its 동/리; a road name needs any unit.
        guard admin >= 1 else { return nil }
        var e = roadEnd + 1
        while e < n, isDigit(b[e]) { e += 1 }
        if e + 1 < n, b[e] == UInt8(ascii: "-"), isDigit(b[e + 1]) { e += 1; while e < n, isDigit(b[e]) { e += 1 } }
        if e < n, isWordByte(b[e]) { return nil }
        // Building details: " 101동 1203호", ", 5층"
        var details = 0
        while details < 2 {
            var q = e
            if q < n, b[q] == UInt8(ascii: ",") { q += 1 }
            guard q + 1 < n, b[q] == 0x20, isDigit(b[q + 1]) else { break }
            q += 1
            while q < n, isDigit(b[q]) { q += 1 }
            let unit = tri(q)
            guard unit == 0xEB_8F_99 || unit == 0xEC_B8_B5 || unit == 0xED_98_B8 else { break } // 동 층 호
            e = q + 3; details += 1
        }
        emit(.streetAddress, start, e, 0.8)
        return e
    }

    mutating func usAddress(numberStart: Int, numberEnd: Int) -> Int? {
        var i = numberEnd + 1
        var words = 0
        var suffixEnd = -1
        while words < 5, i < n {
            var e = i
            if isUpper(b[i]) {
                e = capWordEnd(i)
            } else if isDigit(b[i]) {   // "5th Avenue"
                while e < n, isDigit(b[e]) { e += 1 }
                let s2 = e
                while e < n, isLower(b[e]) { e += 1 }
                guard e - s2 == 2 else { return nil }
            } else { return nil }
            guard e > i else { return nil }
            let h = NameLexicon.hash(UnsafeBufferPointer(rebasing: b[i..<e]))
            if words >= 1, NameLexicon.contains(lex.streetSuffixes, h) {
                suffixEnd = e
                // "St.," keeps its period; a period ending the sentence does not belong.
                if e + 1 < n, b[e] == UInt8(ascii: "."), b[e + 1] == UInt8(ascii: ",") { suffixEnd = e + 1 }
                break
            }
            words += 1
            guard e + 1 < n, b[e] == 0x20 else { return nil }
            i = e + 1
        }
        guard suffixEnd > 0 else { return nil }
        var end = suffixEnd
        // Unit: ", Apt 4B" / ", Suite 200" / ", Unit 5" / " #12"
        var q = end
        if q < n, b[q] == UInt8(ascii: ",") { q += 1 }
        if q + 1 < n, b[q] == 0x20 {
            let w = q + 1
            if hasFolded("apt ", at: w) || hasFolded("suite ", at: w) || hasFolded("unit ", at: w) || hasFolded("apt. ", at: w) || b[w] == UInt8(ascii: "#") {
                var k = w
                while k < n, b[k] != 0x20 { k += 1 }
                if b[w] != UInt8(ascii: "#") { k += 1 }
                let vs = k
                while k < n, isAlnum(b[k]) || b[k] == UInt8(ascii: "-") { k += 1 }
                if k > vs, b[vs] != UInt8(ascii: ","), isDigit(b[vs]) || isUpper(b[vs]) { end = k }
            }
        }
        // ", City, ST 12345"
        q = end
        if q + 2 < n, b[q] == UInt8(ascii: ","), b[q + 1] == 0x20, isUpper(b[q + 2]) {
            var k = q + 2
            var cityWords = 0
            while cityWords < 3 {
                let e = capWordEnd(k)
                guard e > k else { break }
                cityWords += 1
                k = e
                if k + 1 < n, b[k] == 0x20, isUpper(b[k + 1]) { k += 1; continue }
                break
            }
            if cityWords > 0, k + 4 < n, b[k] == UInt8(ascii: ","), b[k + 1] == 0x20, isUpper(b[k + 2]), isUpper(b[k + 3]) {
                var z = k + 4
                if z + 5 < n || z + 5 == n, z < n, b[z] == 0x20 {
                    let zs = z + 1
                    z = zs
                    while z < n, isDigit(b[z]) { z += 1 }
                    if z - zs == 5 {
                        if z + 4 < n, b[z] == UInt8(ascii: "-"), (1...4).allSatisfy({ isDigit(b[z + $0]) }) { z += 5 }
                        if z >= n || !isWordByte(b[z]) { end = z }
                    }
                } else if z >= n || !isWordByte(b[z]) {
                    end = z
                }
            }
        }
        var score = 0.75
        if end > suffixEnd { score += 0.1 }
        emit(.streetAddress, numberStart, end, score)
        return end
    }
}
