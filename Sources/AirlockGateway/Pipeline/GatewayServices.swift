import AirlockCore
import AirlockUpstream
import Logging

/// The long-lived parts every route needs, built once at startup.
public struct GatewayServices: Sendable {
    public let configuration: GatewayConfiguration
    public let upstream: UpstreamClient
    public let readiness: Readiness
    let providers: ProviderDirectory

    public init(configuration: GatewayConfiguration, upstream: UpstreamClient, readiness: Readiness, environment: [String: String]) {
        self.configuration = configuration
        self.upstream = upstream
        self.readiness = readiness
        self.providers = ProviderDirectory(endpoints: configuration.endpoints(environment: environment))
    }
}
