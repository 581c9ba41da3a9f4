import Testing
@testable import AirlockCore

@Suite struct AirlockErrorTests {
    @Test func everyCodeMapsToTheDocumentedStatus() {
        let expected: [AirlockError.Code: Int] = [
            .invalidRequest: 400, .invalidJSON: 400, .invalidAPIKey: 401, .piiBlocked: 403,
            .modelNotFound: 404, .bodyTooLarge: 413, .rateLimited: 429, .residencyViolation: 451,
            .upstreamError: 502, .notReady: 503, .upstreamTimeout: 504,
        ]
        for (code, status) in expected { #expect(AirlockError(code, "m").httpStatus == status) }
    }

    @Test func openAIBodyShape() {
        let body = AirlockError(.modelNotFound, "The model does not exist", param: "model").openAIBody
        #expect(body.serialized == #"{"error":{"message":"The model does not exist","type":"invalid_request_error","param":"model","code":"model_not_found"}}"#)
    }

    @Test func regionMatching() {
        #expect(Region("eu-west").matches("eu-*"))
        #expect(Region("eu-west").matches("eu"))
        #expect(!Region("us-east").matches("eu-*"))
        #expect(Region("kr").matches("kr"))
        #expect(!Region("kr").matches("cn"))
        #expect(Region("cn").matches("*"))
    }
}
