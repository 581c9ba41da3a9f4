import AirlockCore

/// PERSON: English names from census lists plus titles and phrases; Korean names by surname
/// syllable plus honorifics (님/씨), job titles or "이름은"; Chinese and Japanese names by
/// surname plus honorifics (先生/女士/さん/様/氏) or phrases (我叫, 名前は, と申します).
extension ScanState {
    // UTF-8 literals used on hot paths, built once.
    static let jaKun: [UInt8] = Array("くん".utf8)
    static let jaSan: [UInt8] = Array("さん".utf8)
    static let jaChan: [UInt8] = Array("ちゃん".utf8)
    static let jaDesu: [UInt8] = Array("です".utf8)
    static let jaMoushimasu: [UInt8] = Array("と申します".utf8)
    static let sensei: [UInt8] = Array("先生".utf8)
    static let jaNamaeWa: [UInt8] = Array("名前は".utf8)
    static let zhRecipient: [UInt8] = Array("收件人".utf8)
    static let jaShimei: [UInt8] = Array("氏名".utf8)
    static let jaWatashiWa: [UInt8] = Array("私は".utf8)
    static let zhContact: [UInt8] = Array("联系人".utf8)
    static let koPassword: [UInt8] = Array("비밀번호".utf8)
    static let koCipher: [UInt8] = Array("암호".utf8)
    static let koKey: [UInt8] = Array("키".utf8)
    static let koToken: [UInt8] = Array("토큰".utf8)
    static let koPasswordLoan: [UInt8] = Array("패스워드".utf8)
    static let koreanCompounds: [[UInt8]] = NameLexicon.koreanCompoundSurnames.map { Array($0.utf8) }

    // MARK: English

    mutating func capitalised(_ ws: Int, _ we: Int) -> Int {
        let len = we - ws
        guard len >= 2, len <= 20 else { return we }
        for k in (ws + 1)..<we where !isLetter(b[k]) { return we }
        let h = NameLexicon.hash(UnsafeBufferPointer(rebasing: b[ws..<we]))
        if NameLexicon.contains(lex.months, h), let e = englishDate(monthStart: ws, monthEnd: we) { return e }
        if NameLexicon.contains(lex.titles, h) {
            var j = we
            if j < n, b[j] == UInt8(ascii: ".") { j += 1 }
            guard j + 1 < n, b[j] == 0x20, isUpper(b[j + 1]) else { return we }
            j += 1
            var e = capWordEnd(j)
            guard e - j >= 2, !isStopWord(j, e) else { return we }
            if e + 1 < n, b[e] == 0x20, isUpper(b[e + 1]) {
                let e2 = capWordEnd(e + 1)
                if e2 - e - 1 >= 2, !isStopWord(e + 1, e2) { e = e2 }
            }
            emit(.person, j, e, 0.85)
            return e
        }
        guard NameLexicon.contains(lex.firstNames, h), !NameLexicon.contains(lex.stopWords, h) else { return we }
        var end = we
        var score = 0.0
        if we + 1 < n, b[we] == 0x20, isUpper(b[we + 1]) {
            var k = we + 1
            if k + 3 < n, b[k + 1] == UInt8(ascii: "."), b[k + 2] == 0x20, isUpper(b[k + 3]) { k += 3 }   // middle initial
            let e2 = capWordEnd(k)
            if e2 - k >= 2, !isStopWord(k, e2), !(e2 < n && isWordByte(b[e2])) {
                let h2 = NameLexicon.hash(UnsafeBufferPointer(rebasing: b[k..<e2]))
                if !nextIsStreetSuffix(e2) {
                    end = e2
                    score = NameLexicon.contains(lex.surnames, h2) ? 0.85 : 0.6
                }
            }
        }
        // Context only matters for a lone first name or an unknown surname.
        let ctx = score < 0.85 && (ContextWords.personEN.occurs(in: b, ws - 24, ws) || ContextWords.name.occurs(in: b, ws - 24, ws))
        if end == we {
            guard ctx else { return we }
            score = 0.7
        } else if ctx {
            score += 0.1
        }
        emit(.person, ws, end, score)
        return end
    }

    /// End of a capitalised name word: [A-Z][A-Za-z'-]*, no trailing apostrophe or hyphen.
    func capWordEnd(_ s: Int) -> Int {
        guard s < n, isUpper(b[s]) else { return s }
        var e = s + 1
        while e < n, isLetter(b[e]) || (b[e] == UInt8(ascii: "'") || b[e] == UInt8(ascii: "-")) && e + 1 < n && isLetter(b[e + 1]) { e += 1 }
        return e
    }

    func isStopWord(_ s: Int, _ e: Int) -> Bool {
        let h = NameLexicon.hash(UnsafeBufferPointer(rebasing: b[s..<e]))
        return NameLexicon.contains(lex.stopWords, h) || NameLexicon.contains(lex.months, h) || NameLexicon.contains(lex.titles, h)
    }

    func nextIsStreetSuffix(_ e: Int) -> Bool {
        guard e + 1 < n, b[e] == 0x20, isLetter(b[e + 1]) else { return false }
        var k = e + 1
        while k < n, isLetter(b[k]) { k += 1 }
        return NameLexicon.contains(lex.streetSuffixes, NameLexicon.hash(UnsafeBufferPointer(rebasing: b[(e + 1)..<k])))
    }

    // MARK: Korean

    @inline(__always) func hangul(_ i: Int) -> UInt32? {
        let t = tri(i)
        guard t >= 0xEA_B0_80, t <= 0xED_9E_A3 else { return nil }
        let s = (UInt32(b[i]) & 0x0F) << 12 | (UInt32(b[i + 1]) & 0x3F) << 6 | (UInt32(b[i + 2]) & 0x3F)
        return s >= 0xAC00 && s <= 0xD7A3 ? s : nil
    }

    func bytesEqual(_ s: Int, _ e: Int, _ lit: [UInt8]) -> Bool {
        guard e - s == lit.count else { return false }
        for k in 0..<lit.count where b[s + k] != lit[k] { return false }
        return true
    }

    func startsWith(_ s: Int, _ lit: [UInt8]) -> Bool {
        guard s + lit.count <= n else { return false }
        for k in 0..<lit.count where b[s + k] != lit[k] { return false }
        return true
    }

    /// Korean surname at `s`: 1 syllable, or a compound surname (returns syllable count).
    func koreanSurnameLength(_ s: Int) -> Int {
        guard let u = hangul(s) else { return 0 }
        let single = lex.isKoreanSurname(u)
        // Compound surnames (남궁, 황보, 제갈, 선우, 독고, 사공, 서문) start with these syllables.
        if single || u == 0xB3C5 {
            for c in ScanState.koreanCompounds where startsWith(s, c) { return 2 }
        }
        return single ? 1 : 0
    }

    func koreanName(_ s: Int, _ e: Int) -> Bool {
        let syl = (e - s) / 3
        let sl = koreanSurnameLength(s)
        guard sl > 0, syl >= 2, syl <= (sl == 2 ? 4 : 3) else { return false }
        return !lex.koreanStopNames.contains(Array(b[s..<e]))
    }

    static let nim: UInt32 = 0xEB_8B_98   // 님
    static let ssi: UInt32 = 0xEC_94_A8   // 씨
    static let endings: [[UInt8]] = ["입니다", "이에요", "예요", "이고", "이며", "에게", "께서", "님께", "님이", "님의", "님은", "이라고", "라고"].map { Array($0.utf8) }
    static let particles: [UInt32] = ["은", "는", "을", "를", "의", "가", "과", "와", "도", "께"].map { w in let u = Array(w.utf8); return UInt32(u[0]) << 16 | UInt32(u[1]) << 8 | UInt32(u[2]) }

    mutating func koreanWord(_ ws: Int, _ we: Int) -> Int {
        let syl = (we - ws) / 3
        // Road-name address: "... 테헤란로 152"
        if syl >= 2, we + 1 < n, b[we] == 0x20, isDigit(b[we + 1]) {
            let last = tri(we - 3)
            if last == 0xEB_A1_9C || last == 0xEA_B8_B8 || last == 0xEB_8F_99 || last == 0xEB_A6_AC || last == 0xEC_9D_8D || last == 0xEB_A9_B4 {  // 로 길 동 리 읍 면
                if let e = koreanAddress(roadStart: ws, roadEnd: we, road: last == 0xEB_A1_9C || last == 0xEA_B8_B8) { return e }
            }
        }
        // Secret keywords
        if startsWith(ws, ScanState.koPassword) || startsWith(ws, ScanState.koPasswordLoan) || startsWith(ws, ScanState.koCipher) {
            if let e = secretValue(after: koreanAssignEnd(we), passwordLike: true) { return e }
        }
        if startsWith(ws, ScanState.koToken) || startsWith(ws, ScanState.koKey) && syl <= 2 {
            if let e = secretValue(after: koreanAssignEnd(we), passwordLike: false) { return e }
        }
        guard syl >= 2 else { return we }
        // NAME님 / NAME씨 (+ particles)
        var j = 2
        while j <= min(4, syl - 1) {
            let t = tri(ws + 3 * j)
            if t == ScanState.nim || t == ScanState.ssi {
                if koreanName(ws, ws + 3 * j) { emit(.person, ws, ws + 3 * j, 0.8); return we }
                break
            }
            j += 1
        }
        // NAME + title word ("김철수 과장님")
        if syl <= 4, we + 1 < n, b[we] == 0x20, koreanName(ws, we) {
            for t in lex.koreanTitles where startsWith(we + 1, t) {
                let after = we + 1 + t.count
                if after >= n || hangul(after) == nil || t.count >= 6 {
                    emit(.person, ws, we, 0.8); return we
                }
            }
        }
        // Context: "이름은 김철수입니다", "담당자: 박영희"
        if syl <= 7, koreanSurnameLength(ws) > 0 {
            var e = we
            for end in ScanState.endings where e - ws > end.count + 3 {
                if bytesEqual(e - end.count, e, end) { e -= end.count; break }
            }
            if e == we, syl == 4, ScanState.particles.contains(tri(we - 3)) { e -= 3 }
            let nameSyl = (e - ws) / 3
            if nameSyl >= 2, nameSyl <= 4, ContextWords.personKO.occurs(in: b, ws - 24, ws), koreanName(ws, e) {
                emit(.person, ws, e, 0.75); return we
            }
        }
        return we
    }

    /// Skips "는 ", "은 ", ": " after a Korean keyword.
    func koreanAssignEnd(_ we: Int) -> Int {
        var i = we
        if ScanState.particles.contains(tri(i)) { i += 3 }
        return i
    }

    // MARK: Chinese and Japanese

    /// Bit per BMP scalar: first characters of honorifics, name phrases and secret keywords.
    static let cjkTriggers: [UInt64] = {
        var t = [UInt64](repeating: 0, count: 1024)
        for ch in "先女小老经教医同さくち様氏殿と我名姓联收私密口パ令ト".unicodeScalars {
            let v = Int(ch.value); t[v >> 6] |= 1 << UInt64(v & 63)
        }
        return t
    }()

    @inline(__always) func isHan(_ i: Int) -> Bool {
        let t = tri(i)
        return (t >= 0xE4_B8_80 && t <= 0xE9_BF_BF) || t == 0xE3_80_85  // 々
    }

    @inline(__always) func scalar3(_ i: Int) -> UInt32 {
        (UInt32(b[i]) & 0x0F) << 12 | (UInt32(b[i + 1]) & 0x3F) << 6 | (UInt32(b[i + 2]) & 0x3F)
    }

    /// Japanese surname at `s`: its byte length, or 0.
    func japaneseSurname(_ s: Int, limit: Int) -> Int {
        guard let list = lex.japaneseSurnames[tri(s)] else { return 0 }
        for name in list where s + name.count <= limit && startsWith(s, name) { return name.count }
        return 0
    }

    @inline(__always) func isKana(_ i: Int) -> Bool {
        let t = tri(i)
        return t >= 0xE3_81_80 && t <= 0xE3_83_BF
    }

    /// Particles that end a Japanese name when walking back from an honorific.
    static let jpParticles: Set<UInt32> = [0x306E, 0x306F, 0x304C, 0x3092, 0x306B, 0x3078, 0x3068, 0x3067] // の は が を に へ と で

    /// A Japanese name ending at `e`: kanji surname from the list, then kanji or kana given name.
    func japaneseNameBefore(_ e: Int, segStart: Int) -> Int? {
        var q = e, count = 0
        while q - 3 >= segStart, count < 6 {
            let u = scalar3(q - 3)
            if isHan(q - 3) || (isKana(q - 3) && !ScanState.jpParticles.contains(u)) { q -= 3; count += 1 } else { break }
        }
        var s = q
        while s <= e - 6 {
            if isHan(s), japaneseSurname(s, limit: e) > 0 { return s }
            s += 3
        }
        return nil
    }

    /// End of a Japanese name that starts with a surname at `s`.
    func japaneseNameEnd(_ s: Int, surnameLength: Int) -> Int {
        var e = s + surnameLength
        var count = 0
        while e + 2 < n, count < 4, isHan(e) || isKana(e) {
            let u = scalar3(e)
            if ScanState.jpParticles.contains(u) || startsWith(e, ScanState.jaDesu) || startsWith(e, ScanState.jaSan) || u == 0x69D8 || u == 0x6C0F
                || startsWith(e, ScanState.sensei) || startsWith(e, ScanState.jaKun) || startsWith(e, ScanState.jaChan) { break }
            e += 3; count += 1
        }
        return e
    }

    /// Picks the name ending at `e` inside the Han run [runStart, e).
    func cjkNameBefore(_ e: Int, runStart: Int, japaneseHonorific: Bool) -> (Int, Double)? {
        let chars = (e - runStart) / 3
        guard chars >= 2 else { return nil }
        // Japanese: surname (+ given name), at most 5 characters in all.
        var q = max(runStart, e - 15)
        while q <= e - 3 {
            let sl = japaneseSurname(q, limit: e)
            if sl > 0, e - q >= 6 || sl >= 6 || japaneseHonorific { return (q, 0.8) }
            q += 3
        }
        // Chinese: surname + 1–2 given characters.
        if chars >= 3, lex.isChineseSurname(scalar3(e - 9)) { return (e - 9, 0.75) }
        if lex.isChineseSurname(scalar3(e - 6)) { return (e - 6, 0.7) }
        if japaneseHonorific, chars <= 4 { return (max(runStart, e - 12), 0.55) }
        return nil
    }

    mutating func cjkSegment(_ ss: Int, _ se: Int) {
        var p = ss
        var runStart = ss   // start of the current Han run
        while p < se {
            let u = scalar3(p)
            let han = isHan(p)
            // Most characters start nothing: skip them after one table lookup.
            if ScanState.cjkTriggers[Int(u >> 6)] & (1 << UInt64(u & 63)) == 0 {
                p += 3
                if !han { runStart = p }
                continue
            }
            var honorific = 0        // bytes of the honorific at p
            var japanese = false
            switch u {
            case 0x5148 where p + 6 <= n && scalar3(p + 3) == 0x751F: honorific = 6           // 先生
            case 0x5973 where p + 6 <= n && scalar3(p + 3) == 0x58EB: honorific = 6           // 女士
            case 0x5C0F where p + 6 <= n && scalar3(p + 3) == 0x59D0: honorific = 6           // 小姐
            case 0x8001 where p + 6 <= n && scalar3(p + 3) == 0x5E08: honorific = 6           // 老师
            case 0x7ECF where p + 6 <= n && scalar3(p + 3) == 0x7406: honorific = 6           // 经理
            case 0x6559 where p + 6 <= n && scalar3(p + 3) == 0x6388: honorific = 6           // 教授
            case 0x533B where p + 6 <= n && scalar3(p + 3) == 0x751F: honorific = 6           // 医生
            case 0x540C where p + 6 <= n && scalar3(p + 3) == 0x5B66: honorific = 6           // 同学
            case 0x3055 where p + 6 <= n && scalar3(p + 3) == 0x3093: honorific = 6; japanese = true  // さん
            case 0x304F where p + 6 <= n && scalar3(p + 3) == 0x3093: honorific = 6; japanese = true  // くん
            case 0x3061 where p + 9 <= n && scalar3(p + 3) == 0x3083: honorific = 9; japanese = true  // ちゃん
            case 0x69D8, 0x6C0F, 0x6BBF: honorific = 3; japanese = true                           // 様 氏 殿
            case 0x3068 where startsWith(p, ScanState.jaMoushimasu): honorific = 15; japanese = true
            default: break
            }
            if honorific > 0, japanese || isKana(p - 3), p - 6 >= ss, let s = japaneseNameBefore(p, segStart: ss) {
                if !lex.cjkStopNames.contains(Array(b[s..<p])) { emit(.person, s, p, 0.8) }
                p += honorific
                runStart = p
                continue
            }
            if honorific > 0, p > runStart {
                let nameEnd = p
                // For Han honorifics the run includes them; the name is what precedes.
                if let (s, score) = cjkNameBefore(nameEnd, runStart: runStart, japaneseHonorific: japanese),
                   !lex.cjkStopNames.contains(Array(b[s..<nameEnd])) {
                    emit(.person, s, nameEnd, score)
                }
                p += honorific
                runStart = p
                continue
            }
            // Phrases that introduce a name: 我叫 名叫 姓名 联系人 收件人 名前は 私は
            var intro = 0
            switch u {
            case 0x6211 where p + 6 <= n && scalar3(p + 3) == 0x53EB: intro = 6              // 我叫
            case 0x540D where p + 6 <= n && scalar3(p + 3) == 0x53EB: intro = 6              // 名叫
            case 0x59D3 where p + 6 <= n && scalar3(p + 3) == 0x540D: intro = 6              // 姓名
            case 0x8054 where startsWith(p, ScanState.zhContact): intro = 9
            case 0x6536 where startsWith(p, ScanState.zhRecipient): intro = 9
            case 0x540D where startsWith(p, ScanState.jaNamaeWa): intro = 9
            case 0x6C0F where startsWith(p, ScanState.jaShimei): intro = 6
            case 0x79C1 where startsWith(p, ScanState.jaWatashiWa): intro = 6
            default: break
            }
            if intro > 0 {
                var q = p + intro
                if q < n, b[q] == UInt8(ascii: ":") || b[q] == 0x20 { q += 1 }
                if tri(q) == 0xEF_BC_9A { q += 3 }  // ：
                if q < n, b[q] == 0x20 { q += 1 }
                var e = q
                while e < n, isHan(e), e - q < 15 { e += 3 }
                if e - q >= 6 {
                    let jl = japaneseSurname(q, limit: e)
                    if jl > 0 { e = japaneseNameEnd(q, surnameLength: jl); emit(.person, q, e, 0.8) }
                    else if lex.isChineseSurname(scalar3(q)) {
                        emit(.person, q, min(e, q + 9), 0.8)
                    }
                }
                p = max(p + intro, min(e, se))
                runStart = p
                continue
            }
            if u == 0x5BC6 || u == 0x53E3 || u == 0x30D1 || u == 0x4EE4 || u == 0x30C8, secretKeywordCJK(p) { return }
            p += 3
            if !han { runStart = p }
        }
    }

    /// 密码 / 密钥 / 口令 / パスワード / トークン followed by a value.
    mutating func secretKeywordCJK(_ p: Int) -> Bool {
        let pw: [String] = ["密码", "口令", "パスワード"]
        let key: [String] = ["密钥", "令牌", "トークン"]
        for w in pw where startsWith(p, Array(w.utf8)) {
            var q = p + w.utf8.count
            if tri(q) == 0xE3_81_AF || tri(q) == 0xE6_98_AF { q += 3 }  // は 是
            if secretValue(after: q, passwordLike: true) != nil { return true }
        }
        for w in key where startsWith(p, Array(w.utf8)) {
            var q = p + w.utf8.count
            if tri(q) == 0xE3_81_AF || tri(q) == 0xE6_98_AF { q += 3 }
            if secretValue(after: q, passwordLike: false) != nil { return true }
        }
        return false
    }

    // MARK: dispatch for non-ASCII

    mutating func nonASCII(at i: Int) -> Int {
        let c = b[i]
        if c >= 0xEA, c <= 0xED, hangul(i) != nil {
            var j = i
            while j < n, hangul(j) != nil { j += 3 }
            return koreanWord(i, j)
        }
        if c >= 0xE3, c <= 0xE9 {
            var j = i
            while j + 2 < n, isCJKChar(j) { j += 3 }
            if j > i { cjkSegment(i, j); return j }
        }
        if c == 0xEF, tri(i) == 0xEF_BC_8B, i + 3 < n, isDigit(b[i + 3]) { return i + 3 }  // full-width +
        return i + utf8Length(c)
    }

    /// Han, hiragana, katakana and the iteration mark.
    @inline(__always) func isCJKChar(_ i: Int) -> Bool {
        let t = tri(i)
        return (t >= 0xE4_B8_80 && t <= 0xE9_BF_BF) || (t >= 0xE3_81_80 && t <= 0xE3_83_BF) || t == 0xE3_80_85
    }
}
