/// The providers file (`kind: Providers`): every upstream a gateway may route to.
public struct ProviderCatalog: Sendable, Hashable, Codable {
    public var providers: [ProviderConfig]

    public init(providers: [ProviderConfig]) { self.providers = providers }

    public subscript(name: String) -> ProviderConfig? { providers.first { $0.name == name } }

    /// Every name and alias clients may request, sorted (for `GET /v1/models`).
    public var modelNames: [String] {
        Set(providers.filter(\.enabled).flatMap { $0.models.flatMap { [$0.name] + $0.aliases } }).sorted()
    }
}
