import AirlockCore

/// English dates of birth: "March 5, 1990", "Mar 5 1990", "5 March 1990". Dates are only
/// reported with birth context; without it they are consumed silently (timestamps, deadlines).
extension ScanState {
    func monthNumber(_ s: Int, _ e: Int) -> Int? {
        let names: [StaticString] = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
        guard e - s >= 3 else { return nil }
        for (i, m) in names.enumerated() where hasFolded(m, at: s) { return i + 1 }
        return nil
    }

    mutating func englishDate(monthStart: Int, monthEnd: Int) -> Int? {
        guard let month = monthNumber(monthStart, monthEnd) else { return nil }
        var i = monthEnd
        if i < n, b[i] == UInt8(ascii: ".") { i += 1 }
        guard i + 1 < n, b[i] == 0x20, isDigit(b[i + 1]) else { return nil }
        i += 1
        let ds = i
        while i < n, isDigit(b[i]), i - ds < 3 { i += 1 }
        guard i - ds <= 2 else { return nil }
        var day = 0
        for p in ds..<i { day = day * 10 + Int(b[p] - 48) }
        if hasFolded("st", at: i) || hasFolded("nd", at: i) || hasFolded("rd", at: i) || hasFolded("th", at: i) { i += 2 }
        if i < n, b[i] == UInt8(ascii: ",") { i += 1 }
        guard i + 4 < n || i + 4 == n - 1 || i + 5 <= n, i < n, b[i] == 0x20 else { return nil }
        i += 1
        let ys = i
        while i < n, isDigit(b[i]) { i += 1 }
        guard i - ys == 4 else { return nil }
        var year = 0
        for p in ys..<i { year = year * 10 + Int(b[p] - 48) }
        guard validDOB(year: year, month: month, day: day) else { return i }
        if dobContext(monthStart, i) { emit(.dateOfBirth, monthStart, i, 0.85) }
        return i
    }

    mutating func englishDate(dayFirst g: NumberGroup) -> Int? {
        var i = g.end + 1
        let ms = i
        while i < n, isLetter(b[i]) { i += 1 }
        guard let month = monthNumber(ms, i) else { return nil }
        let h = NameLexicon.hash(UnsafeBufferPointer(rebasing: b[ms..<i]))
        guard NameLexicon.contains(lex.months, h) else { return nil }
        if i < n, b[i] == UInt8(ascii: ".") { i += 1 }
        if i < n, b[i] == UInt8(ascii: ",") { i += 1 }
        guard i + 1 < n, b[i] == 0x20 else { return nil }
        i += 1
        let ys = i
        while i < n, isDigit(b[i]) { i += 1 }
        guard i - ys == 4 else { return nil }
        var year = 0
        for p in ys..<i { year = year * 10 + Int(b[p] - 48) }
        let day = num(0)
        guard validDOB(year: year, month: month, day: day) else { return i }
        if dobContext(g.start, i) { emit(.dateOfBirth, g.start, i, 0.85) }
        return i
    }
}
