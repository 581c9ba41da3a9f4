import AirlockCore
import AirlockUpstream

/// Which providers serve which model. Model names are matched exactly; the first provider
/// listing a model wins until the policy route planner orders candidates.
struct ProviderDirectory: Sendable {
    let endpoints: [ProviderEndpoint]

    func candidates(for model: String) -> [ProviderEndpoint] {
        endpoints.filter { $0.models.contains(model) }
    }

    /// `/v1/models` in OpenAI's shape, one entry per model name.
    var modelList: JSONValue {
        var seen = Set<String>()
        var data: [JSONValue] = []
        for endpoint in endpoints {
            for model in endpoint.models where seen.insert(model).inserted {
                data.append(["id": .string(model), "object": "model", "created": 0, "owned_by": .string(endpoint.name)])
            }
        }
        return ["object": "list", "data": .array(data)]
    }
}
