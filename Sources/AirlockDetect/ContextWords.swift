/// Context words in English, Korean, Chinese and Japanese. A word found near a candidate raises
/// (or, for `negative`, lowers) its score. ASCII words match case-insensitively and need a
/// non-letter before them, so "ip" does not fire inside "ship".
struct ContextWords: Sendable {
    let words: [[UInt8]]
    /// All words back to back, grouped by (lowercased) first byte, so the search reads flat
    /// arrays: one pass over the window, and only the words that can start at each byte.
    let flat: [UInt8]
    let wordStart: [Int32]
    let wordLength: [UInt8]
    /// Words whose first byte is c are indices firstRange[c] ..< firstRange[c + 1].
    let firstRange: [UInt16]
    let minLength: Int
    /// A stable number per list (for callers that cache results per list).
    let id: Int

    init(id: Int, _ list: [String]) {
        self.id = id
        words = list.map { Array($0.lowercased().utf8) }
        let sorted = words.sorted { $0[0] < $1[0] }
        var flat: [UInt8] = [], starts: [Int32] = [], lengths: [UInt8] = []
        var range = [UInt16](repeating: 0, count: 257)
        for w in sorted {
            starts.append(Int32(flat.count)); lengths.append(UInt8(w.count)); flat.append(contentsOf: w)
            range[Int(w[0]) + 1] += 1
        }
        for i in 1...256 { range[i] += range[i - 1] }
        self.flat = flat
        wordStart = starts
        wordLength = lengths
        firstRange = range
        minLength = words.map(\.count).min() ?? 1
    }

    static let phone = ContextWords(id: 0, ["phone", "tel", "mobile", "cell", "call", "contact", "fax", "whatsapp", "number", "电话", "手机", "联系", "電話", "携帯", "連絡", "연락처", "연락", "전화", "휴대폰", "핸드폰", "번호"])
    static let card = ContextWords(id: 1, ["card", "visa", "mastercard", "amex", "credit", "debit", "payment", "카드", "결제", "信用卡", "银行卡", "卡号", "クレジット", "カード"])
    static let ssn = ContextWords(id: 2, ["ssn", "social security", "social-security", "sozialversicherung"])
    static let rrn = ContextWords(id: 3, ["주민등록번호", "주민번호", "주민등록", "rrn", "resident registration", "외국인등록번호", "외국인등록", "외국인 등록", "frn", "alien registration", "registration number"])
    static let brn = ContextWords(id: 4, ["사업자등록번호", "사업자번호", "사업자", "business registration", "brn", "tax id", "营业执照"])
    static let passport = ContextWords(id: 5, ["passport", "여권", "护照", "旅券", "パスポート"])
    static let usContext = ContextWords(id: 6, ["u.s.", "us passport", "american", "united states", "usa", "미국", "美国", "米国", "アメリカ"])
    static let krContext = ContextWords(id: 7, ["korea", "korean", "한국", "대한민국", "韩国", "韓国"])
    static let driverLicense = ContextWords(id: 8, ["운전면허", "면허번호", "면허", "driver", "licence", "license", "驾驶证", "運転免許"])
    static let cnID = ContextWords(id: 9, ["身份证", "证件号", "id card", "resident id", "公民身份", "身份號碼", "chinese id", "중국 신분증", "身分証"])
    static let myNumber = ContextWords(id: 10, ["マイナンバー", "個人番号", "my number", "mynumber", "마이넘버", "个人编号"])
    static let ip = ContextWords(id: 11, ["ip", "server", "host", "address", "addr", "gateway", "subnet", "client", "서버", "아이피", "服务器", "地址", "サーバ", "アドレス"])
    static let dob = ContextWords(id: 12, ["date of birth", "dob", "d.o.b", "born", "birthday", "birth date", "birthdate", "생년월일", "생일", "출생", "태어", "出生", "生日", "生年月日", "誕生日", "生まれ"])
    static let dobAfter = ContextWords(id: 13, ["생", "生まれ", "出生", "生)", "생)"])
    static let crypto = ContextWords(id: 14, ["wallet", "bitcoin", "btc", "eth", "ethereum", "crypto", "usdt", "send", "지갑", "비트코인", "이더리움", "钱包", "比特币", "以太坊", "ウォレット", "ビットコイン"])
    static let iban = ContextWords(id: 15, ["iban", "bank", "account", "konto", "계좌", "账户", "口座"])
    static let negative = ContextWords(id: 16, ["order", "invoice", "tracking", "ticket", "ref", "reference", "version", "build", "sku", "serial", "transaction", "txn", "request id", "isbn", "model", "part no", "po #", "receipt", "confirmation", "booking", "주문", "송장", "운송장", "영수증", "订单", "快递", "单号", "注文", "伝票", "受付番号", "uuid", "commit", "hash", "checksum", "sha", "release", "patch", "upgrade", "tag", "버전", "版本", "バージョン"])
    static let secretKeys = ContextWords(id: 17, ["password", "passwd", "pwd", "secret", "token", "api_key", "apikey", "api-key", "key", "access_key", "auth", "credential", "bearer", "비밀번호", "패스워드", "토큰", "密码", "密钥", "口令", "令牌", "パスワード", "トークン"])
    static let name = ContextWords(id: 18, ["name", "이름", "성명", "姓名", "名字", "氏名", "名前"])

    /// True when any word occurs in bytes[lo..<hi].
    func occurs(in b: UnsafeBufferPointer<UInt8>, _ lo: Int, _ hi: Int) -> Bool {
        let lo = max(0, lo), hi = min(b.count, hi)
        guard hi - lo >= minLength else { return false }
        return flat.withUnsafeBufferPointer { f in
            firstRange.withUnsafeBufferPointer { r in
                wordStart.withUnsafeBufferPointer { ws in
                    wordLength.withUnsafeBufferPointer { wl in
                        var i = lo
                        while i <= hi - minLength {
                            let c = lower(b[i])
                            var wi = Int(r[Int(c)])
                            let wEnd = Int(r[Int(c) + 1])
                            while wi < wEnd {
                                let len = Int(wl[wi]), st = Int(ws[wi])
                                if i + len <= hi {
                                    var j = 1
                                    while j < len && lower(b[i + j]) == f[st + j] { j += 1 }
                                    if j == len {
                                        let ascii = c < 0x80
                                        let leftOK = !ascii || i == 0 || !isLetter(b[i - 1])
                                        let rightOK = !ascii || len > 3 || i + j >= b.count || !isLetter(b[i + j])
                                        if leftOK && rightOK { return true }
                                    }
                                }
                                wi += 1
                            }
                            i += 1
                        }
                        return false
                    }
                }
            }
        }
    }
}

extension ContextWords {
    static let personEN = ContextWords(id: 19, ["my name is", "name is", "i'm", "i am", "dear", "hi", "hello", "hey", "thanks", "thank you", "regards", "sincerely", "cheers", "name:", "name", "this is", "call me", "signed", "contact", "from:", "to:", "cc:", "attn", "patient", "customer", "employee", "ask", "met", "with", "by", "said", "told"])
    static let personKO = ContextWords(id: 20, ["이름", "성명", "저는", "제 이름", "담당자", "고객명", "작성자", "받는 사람", "보내는 사람", "받는사람", "보낸사람", "환자명", "수신인", "발신인", "신청인", "예약자", "name"])
}
