import AirlockCore
import Foundation
import PostgresNIO

/// Filters for search, export and reports. Time bounds are half-open: [from, to).
public struct AuditQuery: Sendable, Equatable {
    public var tenantID: String?
    public var from: Date?
    public var to: Date?
    public var decision: String?
    public var entityType: String?
    public var provider: String?
    public var region: String?
    public var model: String?
    public var chainID: String?
    public var limit: Int?

    public init(tenantID: String? = nil, from: Date? = nil, to: Date? = nil, decision: String? = nil, entityType: String? = nil,
                provider: String? = nil, region: String? = nil, model: String? = nil, chainID: String? = nil, limit: Int? = nil) {
        self.tenantID = tenantID
        self.from = from
        self.to = to
        self.decision = decision
        self.entityType = entityType
        self.provider = provider
        self.region = region
        self.model = model
        self.chainID = chainID
        self.limit = limit
    }

    /// A region filter means what it means in a policy's `destinations` (`Region.Pattern`): a
    /// country or bloc (`us`, `kr`, `eu`, also written `us-*`) covers its regions (`us-east`,
    /// `us-west`); an exact region (`us-east`) and `local` match only themselves. So "which calls
    /// went to a US provider" is `--region us`, whatever the regions are called.
    static func regionFilter(_ raw: String) -> (value: String, family: Bool) {
        switch Region.Pattern(raw) {
        case .any: return ("*", true)  // as written: no region is called `*`
        case .exact(let region): return (region, false)
        case .family(let country): return (country, true)
        }
    }

    /// `WHERE …` with bound parameters; each unset filter collapses to nothing in the plan
    /// (literal predicates only for the filters given, so indexes stay usable).
    func whereClause(_ binds: inout PostgresBindings, alias: String = "") -> String {
        let a = alias.isEmpty ? "" : alias + "."
        var parts: [String] = []
        func bind(_ v: String) -> String { binds.append(v); return "$\(binds.count)" }
        func bind(_ v: Date) -> String { binds.append(v); return "$\(binds.count)" }
        if let tenantID { parts.append("\(a)tenant_id = \(bind(tenantID))") }
        if let from { parts.append("\(a)received_at >= \(bind(from))") }
        if let to { parts.append("\(a)received_at < \(bind(to))") }
        if let decision { parts.append("\(a)decision = \(bind(decision))") }
        if let entityType { parts.append("\(a)entity_types @> ARRAY[\(bind(entityType))]::text[] AND \(a)entity_types <> '{}'") }
        if let provider { parts.append("\(a)provider = \(bind(provider))") }
        if let region {
            let (value, family) = Self.regionFilter(region)
            parts.append(family ? "(\(a)region = \(bind(value)) OR starts_with(\(a)region, \(bind(value + "-"))))" : "\(a)region = \(bind(value))")
        }
        if let model { parts.append("\(a)requested_model = \(bind(model))") }
        if let chainID { parts.append("\(a)chain_id = \(bind(chainID))") }
        return parts.isEmpty ? "" : "WHERE " + parts.joined(separator: " AND ")
    }
}
