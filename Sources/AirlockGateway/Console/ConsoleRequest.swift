import AirlockAudit
import Foundation
import Hummingbird
import Logging

/// One authenticated console request: the session, the parsed query and (for POST) form,
/// and what pages need to reach the database and record actions.
struct ConsoleRequest: Sendable {
    let request: Request
    let context: AirlockRequestContext
    let session: ConsoleSession
    let query: ConsoleForm
    /// The POST body (CSRF already checked); empty for GET.
    let form: ConsoleForm
    let services: GatewayServices
    let deps: ConsoleDependencies
    let recorder: ConsoleActionRecorder

    var actor: String { "console:\(session.operatorID)" }

    func record(_ action: String, tenant: String = AuditEvent.systemTenant, target: String? = nil, details: [String: String] = [:]) async throws {
        try await recorder.record(action, actor: actor, tenant: tenant, target: target, details: details, logger: context.logger)
    }

    func page(title: String, section: String?, _ body: String) -> Response {
        ConsolePage.html(.ok, ConsolePage.document(title: title, body: body, session: session, section: section))
    }

    var csrf: String { ConsolePage.csrfField(session) }
}

/// Writes console actions to the admin audit chain. A console action whose record cannot be
/// written is refused (`ConsoleAuditUnavailable`): nothing is shown unaudited.
struct ConsoleActionRecorder: Sendable {
    let log: AdminAuditLog

    func record(_ action: String, actor: String, tenant: String, target: String?, details: [String: String], logger: Logger) async throws {
        do {
            try await log.record(.admin(action: action, actor: actor, tenantID: tenant, target: target, details: details))
        } catch {
            logger.error("console action not recorded", metadata: ["action": .string(action)])
            throw ConsoleAuditUnavailable()
        }
    }
}

struct ConsoleAuditUnavailable: Error {}

/// A refusal with a message safe to show (ids and names of configuration, never data).
struct ConsoleError: Error {
    var status: HTTPResponse.Status
    var message: String
    init(_ status: HTTPResponse.Status, _ message: String) {
        self.status = status
        self.message = message
    }
}
