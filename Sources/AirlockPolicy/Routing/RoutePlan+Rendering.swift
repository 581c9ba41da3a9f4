import AirlockCore

extension RoutePlan {
    public var jsonValue: JSONValue {
        switch self {
        case .route(let candidates):
            return .object([
                "candidates": .array(candidates.map { c in
                    .object([
                        "provider": .string(c.provider),
                        "kind": .string(c.kind.rawValue),
                        "region": .string(c.region.value),
                        "model": .string(c.model),
                        "deployment": c.deployment.map(JSONValue.string) ?? .null,
                        "health": .string(c.health.rawValue),
                    ])
                }),
            ])
        case .refused(let r):
            let e = r.airlockError
            return .object([
                "refused": .object([
                    "reason": .string(r.reason.rawValue),
                    "status": .int(e.httpStatus),
                    "code": .string(e.code.rawValue),
                    "rules": .array(r.ruleIDs.map(JSONValue.string)),
                    "message": .string(r.message),
                ]),
            ])
        }
    }

    public var explanation: String {
        switch self {
        case .route(let candidates):
            return (["route:"] + candidates.enumerated().map { "  \($0.offset + 1). \($0.element)" }).joined(separator: "\n")
        case .refused(let r):
            return "route:        refused, \(r.airlockError.httpStatus) \(r.airlockError.code.rawValue): \(r.message)"
        }
    }
}
