import Testing
@testable import AirlockDetect

@Suite("Validators: check digits from the entity catalogue")
struct ValidatorTests {
    func d(_ s: String) -> [UInt8] { s.utf8.map { $0 == UInt8(ascii: "X") ? 10 : $0 - 48 } }

    @Test func luhn() {
        #expect(Validators.luhn(d("4111111111111111")))
        #expect(!Validators.luhn(d("4111111111111112")))
        #expect(Validators.luhn(d("378282246310005")))
    }

    @Test func iban() {
        #expect(Validators.ibanMod97(Array("DE89370400440532013000".utf8)))
        #expect(!Validators.ibanMod97(Array("DE89370400440532013001".utf8)))
        #expect(Validators.ibanLength(country: UInt8(ascii: "D"), UInt8(ascii: "E")) == 22)
        #expect(Validators.ibanLength(country: UInt8(ascii: "Z"), UInt8(ascii: "Z")) == nil)
    }

    @Test func koreanRRNAndFRN() {
        #expect(Validators.koreanRRN(d("9001011234568")) == .init(kind: .resident, checksumValid: true))
        #expect(Validators.koreanRRN(d("9001011234567"))?.checksumValid == false)
        #expect(Validators.koreanRRN(d("9013011234568")) == nil)      // month 13
        #expect(Validators.koreanRRN(d("9001015234567"))?.kind == .foreigner)
    }

    @Test func koreanBRN() {
        #expect(Validators.koreanBRN(d("2208162517")))
        #expect(!Validators.koreanBRN(d("2208162518")))
    }

    @Test func chineseResidentID() {
        #expect(Validators.chineseResidentID(d("11010519491231002X")))
        #expect(!Validators.chineseResidentID(d("110105194912310021")))
        #expect(!Validators.chineseResidentID(d("11010519491331002X")))  // month 13
    }

    @Test func japaneseMyNumber() {
        #expect(Validators.japaneseMyNumber(d("123456789018")))
        #expect(!Validators.japaneseMyNumber(d("123456789012")))
    }

    @Test func usSSN() {
        #expect(Validators.usSSN(d("123456780")))
        #expect(!Validators.usSSN(d("666123456")))
        #expect(!Validators.usSSN(d("900123456")))
        #expect(!Validators.usSSN(d("123006789")))
        #expect(!Validators.usSSN(d("078051120")))
    }

    @Test func wallets() {
        #expect(Validators.base58CheckAddress(Array("1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2".utf8)))
        #expect(!Validators.base58CheckAddress(Array("1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN3".utf8)))
        #expect(Validators.bech32(Array("bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq".utf8)))
        #expect(!Validators.bech32(Array("bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdp".utf8)))
    }
}
