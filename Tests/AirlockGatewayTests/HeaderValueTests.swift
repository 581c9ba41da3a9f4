import HTTPTypes
import Testing
@testable import AirlockGateway

/// `HTTPFields.value(_:)` is the request path's header lookup: it must answer exactly what
/// swift-http-types' subscript answers, including for repeated and absent fields.
@Suite struct HeaderValueTests {
    @Test func aSingleFieldGivesItsValueWhateverTheCaseOfItsName() {
        var fields = HTTPFields()
        fields.append(HTTPField(name: HTTPField.Name("Authorization")!, value: "Bearer ak_123"))
        fields[.contentType] = "application/json"
        #expect(fields.value(.authorization) == "Bearer ak_123")
        #expect(fields.value(.contentType) == "application/json")
        #expect(fields.value(.requestID) == nil)
    }

    @Test func repeatedFieldsAreCombinedAsTheLibraryCombinesThem() {
        var fields = HTTPFields()
        fields.append(HTTPField(name: .requestID, value: "first"))
        fields.append(HTTPField(name: .contentType, value: "text/plain"))
        fields.append(HTTPField(name: .requestID, value: "second"))
        fields.append(HTTPField(name: .cookie, value: "a=1"))
        fields.append(HTTPField(name: .cookie, value: "b=2"))
        #expect(fields.value(.requestID) == "first, second")
        #expect(fields.value(.requestID) == fields[.requestID])
        #expect(fields.value(.cookie) == fields[.cookie])
        #expect(fields.value(.contentType) == "text/plain")
    }

    @Test func anEmptyValueIsPresentNotAbsent() {
        var fields = HTTPFields()
        fields.append(HTTPField(name: .authorization, value: ""))
        #expect(fields.value(.authorization) == "")
        #expect(fields.value(.authorization) == fields[.authorization])
    }
}
