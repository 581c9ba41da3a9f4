/// One model a provider serves, under its own name and any aliases clients may use.
public struct ProviderModel: Sendable, Hashable, Codable {
    /// The name sent upstream (`deepseek-reasoner`, `o1`).
    public var name: String
    /// Other names clients may request (`deepseek-r1`).
    public var aliases: [String]
    /// Azure OpenAI deployment name; nil elsewhere.
    public var deployment: String?
    public var price: TokenPrice?

    public init(name: String, aliases: [String] = [], deployment: String? = nil, price: TokenPrice? = nil) {
        self.name = name
        self.aliases = aliases
        self.deployment = deployment
        self.price = price
    }

    public func serves(_ requested: String) -> Bool { name == requested || aliases.contains(requested) }
}
