import AirlockCore

/// What the gateway knows about a request besides its findings.
public struct RequestContext: Sendable, Hashable {
    public var tenant: String
    /// The model the client asked for (`model` in the body), before alias resolution.
    public var model: String
    /// Declared by the client in `x-airlock-classification`; nil when absent.
    public var classification: String?
    /// Where the caller is, when the gateway knows (e.g. from the tenant or a trusted header).
    public var callerRegion: Region?

    public init(tenant: String, model: String, classification: String? = nil, callerRegion: Region? = nil) {
        self.tenant = tenant
        self.model = model
        self.classification = classification?.lowercased()
        self.callerRegion = callerRegion
    }
}
