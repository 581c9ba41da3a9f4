import AirlockCore
import Testing
@testable import AirlockDetect

@Suite("Scanner: what gets found")
struct ScannerTests {
    @Test("contact data in several scripts", arguments: [
        ("Mail john.doe+x@example.co.uk today", EntityType.emailAddress, "john.doe+x@example.co.uk"),
        ("연락은 kim@한국.kr로 주세요", .emailAddress, "kim@한국.kr"),
        ("メールは yamada@example.jpです", .emailAddress, "yamada@example.jp"),
        ("휴대폰 010-1234-5678 입니다", .phoneNumber, "010-1234-5678"),
        ("서울 02-345-6789", .phoneNumber, "02-345-6789"),
        ("call (415) 555-2671 now", .phoneNumber, "(415) 555-2671"),
        ("call +1 415-555-2671 now", .phoneNumber, "+1 415-555-2671"),
        ("电话 138 0013 8000。", .phoneNumber, "138 0013 8000"),
        ("電話 090-1234-5678 です", .phoneNumber, "090-1234-5678"),
        ("ring 020 7946 0958", .phoneNumber, "020 7946 0958"),
        ("Tel. 030 12345678", .phoneNumber, "030 12345678"),
        ("appelez le 01 23 45 67 89", .phoneNumber, "01 23 45 67 89"),
        ("whatsapp +82 10-9876-5432", .phoneNumber, "+82 10-9876-5432"),
    ])
    func contact(text: String, type: EntityType, value: String) {
        #expect(values(text, type) == [value])
    }

    @Test("payment and national identifiers with valid check digits", arguments: [
        ("card 4111 1111 1111 1111 ok", EntityType.creditCard, "4111 1111 1111 1111"),
        ("amex 3782-822463-10005", .creditCard, "3782-822463-10005"),
        ("IBAN DE89 3704 0044 0532 0130 00.", .ibanCode, "DE89 3704 0044 0532 0130 00"),
        ("IBAN GB82WEST12345698765432", .ibanCode, "GB82WEST12345698765432"),
        ("btc 1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2 please", .crypto, "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2"),
        ("bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq", .crypto, "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"),
        ("주민번호 900101-1234568", .krRRN, "900101-1234568"),
        ("사업자등록번호 220-81-62517", .krBRN, "220-81-62517"),
        ("身份证 11010519491231002X。", .cnResidentID, "11010519491231002X"),
        ("マイナンバー 1234 5678 9018", .jpMyNumber, "1234 5678 9018"),
        ("SSN 123-45-6780", .usSSN, "123-45-6780"),
        ("면허번호 11-12-345678-90", .krDriverLicense, "11-12-345678-90"),
        ("여권번호 M12345678", .krPassport, "M12345678"),
        ("US passport 123456789", .usPassport, "123456789"),
    ])
    func identifiers(text: String, type: EntityType, value: String) {
        #expect(values(text, type) == [value])
    }

    @Test("network data and secrets", arguments: [
        ("host 192.168.0.1 down", EntityType.ipAddress, "192.168.0.1"),
        ("v6 2001:db8::ff00:42:8329 up", .ipAddress, "2001:db8::ff00:42:8329"),
        ("lo fe80::1ff:fe23:4567:890a%eth0", .ipAddress, "fe80::1ff:fe23:4567:890a"),
        ("mac 00-1A-2B-3C-4D-5E", .macAddress, "00-1A-2B-3C-4D-5E"),
        ("db postgres://app:s3cr3tPW@db.example.com:5432/prod", .url, "postgres://app:s3cr3tPW@db.example.com:5432/prod"),
        ("key AKIAIOSFODNN7EXAMPLE", .awsAccessKey, "AKIAIOSFODNN7EXAMPLE"),
        ("ghp_0123456789abcdefghijABCDEFGHIJ012345", .githubToken, "ghp_0123456789abcdefghijABCDEFGHIJ012345"),
        ("sk-proj-abcDEF1234567890ghijKLMN", .openAIAPIKey, "sk-proj-abcDEF1234567890ghijKLMN"),
        ("deepseek sk-0123456789abcdef0123456789abcdef", .openAIAPIKey, "sk-0123456789abcdef0123456789abcdef"),
        ("sk-ant-api03-abcdefghijklmnopqrstuvwxyz012345", .anthropicAPIKey, "sk-ant-api03-abcdefghijklmnopqrstuvwxyz012345"),
        ("xoxb-123456789012-123456789012-abcdefghijABCDEFGHIJ1234", .slackToken, "xoxb-123456789012-123456789012-abcdefghijABCDEFGHIJ1234"),
        ("sk_live_4eC39HqLyjWDarjtT1zdp7dc", .stripeKey, "sk_live_4eC39HqLyjWDarjtT1zdp7dc"),
        ("AIzaSyA-1234567890abcdefghijklmnopqrstu", .googleAPIKey, "AIzaSyA-1234567890abcdefghijklmnopqrstu"),
        ("password: Tr0ub4dor&3", .genericSecret, "Tr0ub4dor&3"),
        ("비밀번호: qwer1234!", .genericSecret, "qwer1234!"),
    ])
    func networkAndSecrets(text: String, type: EntityType, value: String) {
        #expect(values(text, type) == [value])
    }

    @Test("JWT and PEM private keys span the whole token or block")
    func jwtAndPEM() {
        let jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"
        #expect(values("token \(jwt) end", .jwt) == [jwt])
        let pem = "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA1234abcd\nabcd==\n-----END RSA PRIVATE KEY-----"
        #expect(values("here:\n\(pem)\nbye", .privateKey) == [pem])
    }

    @Test("names in four languages, without titles or honorifics", arguments: [
        ("My name is Mary Johnson.", "Mary Johnson"),
        ("I spoke to Dr. Alvarez yesterday.", "Alvarez"),
        ("김민수님 안녕하세요.", "김민수"),
        ("박지영 과장님께 전달 바랍니다.", "박지영"),
        ("请联系王小明先生。", "王小明"),
        ("我叫李娜，是工程师。", "李娜"),
        ("田中太郎さんに連絡してください。", "田中太郎"),
        ("担当の佐藤様へ", "佐藤"),
    ])
    func persons(text: String, name: String) {
        #expect(values(text, .person) == [name])
    }

    @Test("street addresses and dates of birth need their shapes and context")
    func addressesAndBirthDates() {
        #expect(values("Ship to 1600 Pennsylvania Avenue, Washington, DC 20500 please", .streetAddress) == ["1600 Pennsylvania Avenue, Washington, DC 20500"])
        #expect(values("주소: 서울특별시 강남구 테헤란로 152, 12층", .streetAddress) == ["서울특별시 강남구 테헤란로 152, 12층"])
        #expect(values("Date of birth: 1990-03-15", .dateOfBirth) == ["1990-03-15"])
        #expect(values("생년월일 1985년 7월 3일", .dateOfBirth) == ["1985년 7월 3일"])
        #expect(values("born March 5, 1979 in Ohio", .dateOfBirth) == ["March 5, 1979"])
        #expect(values("The release is on 2024-03-15.", .dateOfBirth).isEmpty)
    }

    @Test("hard negatives stay silent", arguments: [
        "Order #20240315-0012 shipped at 2024-03-15 14:22:05.",
        "Upgrade to version 3.12.4, build 20240315.1.",
        "Commit 3f786850e387550fdab836ed7e6dc881de23001b fixed it.",
        "Request 123e4567-e89b-12d3-a456-426614174000 failed.",
        "Total: $1,234,567.89 (EUR 1.234,56).",
        "Card 4111 1111 1111 1112 fails Luhn.",
        "Shaped like an ID, 900101-1234567 fails its check digit.",
        "ID 110105194912310021 has a wrong check character.",
        "IBAN DE89 3704 0044 0532 0130 01 is mistyped.",
        "Meeting at 10:30:00, room 1204, port 8080.",
        "We use scikit-learn; sk-learn is a nickname.",
        "The token is valid. Reset your password here.",
        "api_key=YOUR_API_KEY_HERE",
        "May I ask? Will you come? Grace period ends.",
        "고객님 문의 감사합니다. 선생님께서 오셨습니다.",
        "版本 3.1.4 已发布，订单号 202403150012。",
        "お客様各位、バージョン 1.4.2 をリリースしました。",
        "Released 1.2.3.4 today.",
    ])
    func hardNegatives(text: String) {
        #expect(found(text).isEmpty, "unexpected: \(found(text).map { $0.0.rawValue })")
    }

    @Test("post-2020 RRNs without a check digit need context")
    func rrnWithoutCheckDigit() {
        #expect(values("주민등록번호: 210315-3123456", .krRRN) == ["210315-3123456"])
        #expect(values("번호 210315-3123456", .krRRN).isEmpty)
    }

    @Test("context lowers an order number that happens to pass Luhn")
    func negativeContext() {
        #expect(values("card 4532015112830366", .creditCard) == ["4532015112830366"])
        #expect(values("order number 4532015112830366", .creditCard).isEmpty)
    }

    @Test("byte offsets and code point offsets are exact")
    func offsets() {
        let text = "한국어 텍스트 kim@example.com 끝"
        let f = scanner.scan(text)
        #expect(f.count == 1)
        let bytes = Array(text.utf8)
        #expect(String(decoding: bytes[f[0].start..<f[0].end], as: UTF8.self) == "kim@example.com")
        let cp = Scanner.codePointSpans(f, in: text)
        #expect(cp[0].start == 8 && cp[0].end == 23)
    }

    @Test("overlapping candidates resolve to one finding per span")
    func overlaps() {
        let f = found("see https://admin:pw123456@10.0.0.1/x and john@example.com")
        #expect(f.map(\.0) == [.url, .emailAddress])
    }

    @Test("disabled types are not reported")
    func enabledTypes() {
        let s = Scanner(configuration: .init(enabledTypes: [.emailAddress]))
        #expect(s.scan("a@example.com 010-1234-5678").map(\.type) == [.emailAddress])
    }
}
