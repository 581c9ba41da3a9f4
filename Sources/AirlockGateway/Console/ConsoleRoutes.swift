import AirlockAudit
import AirlockCore
import AirlockStore
import Foundation
import Hummingbird
import Logging
import NIOCore
import PostgresNIO

/// The web console under `/console`: sign-in with an operator token, then server-rendered
/// pages (no JavaScript). Every authenticated request re-checks the operator (a revoked token
/// ends its sessions), POSTs need the session's CSRF token and a same-origin `Origin`, and
/// every page view and action is recorded on the admin audit chain before it is answered.
struct ConsoleRoutes: Sendable {
    typealias Handler = @Sendable (ConsoleRequest) async throws -> Response

    static let sessionCookie = "airlock_console"
    static let signInCookie = "airlock_console_signin"
    static let maxFormBytes = 1 << 20

    let services: GatewayServices
    let deps: ConsoleDependencies
    let sessions: ConsoleSessionStore
    let throttle = ConsoleSignInThrottle()
    let logger = Logger(label: "airlock.console")

    init(services: GatewayServices, deps: ConsoleDependencies, sessions: ConsoleSessionStore = ConsoleSessionStore()) {
        self.services = services
        self.deps = deps
        self.sessions = sessions
    }

    // Built at each use over the pool as it is now (it may have been renewed).
    var recorder: ConsoleActionRecorder {
        ConsoleActionRecorder(log: AdminAuditLog(client: deps.client, logger: logger, checkpointKey: deps.checkpointKey))
    }
    var operators: OperatorRepository { OperatorRepository(client: deps.client, logger: logger) }

    func register(on router: Router<AirlockRequestContext>) {
        router.get("/console") { request, _ in
            ConsolePage.redirect(self.currentSession(request) == nil ? "/console/sign-in" : "/console/overview")
        }
        router.get("/console/static/console.css") { _, _ in Self.asset(ConsoleAssets.css, type: "text/css; charset=utf-8") }
        router.get("/console/static/favicon.svg") { _, _ in Self.asset(ConsoleAssets.favicon, type: "image/svg+xml") }
        router.get("/console/sign-in") { request, context in signInForm(request, context: context) }
        router.post("/console/sign-in") { request, context in await signIn(request, context: context) }
        router.post("/console/sign-out") { request, context in
            await authenticated(request, context, adminOnly: false, view: nil) { r in
                if let id = request.cookies[Self.sessionCookie]?.value { sessions.remove(id) }
                try await r.record("console.sign_out", target: r.session.operatorID)
                var response = ConsolePage.redirect("/console/sign-in")
                response.setCookie(sessionCookie(request, value: "", maxAge: 0))
                return response
            }
        }

        let overview = ConsoleOverviewPage()
        let audit = ConsoleAuditPages()
        let verification = ConsoleVerificationPage()
        let retention = ConsoleRetentionPage()
        let policies = ConsolePolicyPages()
        let access = ConsoleAccessPage()
        get(router, "/console/overview", view: "overview") { try await overview.render($0) }
        get(router, "/console/audit", view: "audit") { try await audit.list($0) }
        get(router, "/console/audit/export", view: nil) { try await audit.export($0) }
        get(router, "/console/audit/event/:id", view: nil) { try await audit.event($0) }
        post(router, "/console/audit/event/:id/decrypt", adminOnly: true) { try await audit.decrypt($0) }
        get(router, "/console/verification", view: "verification") { try await verification.render($0) }
        post(router, "/console/verification", adminOnly: false) { try await verification.run($0) }
        get(router, "/console/retention", view: "retention") { try await retention.render($0) }
        post(router, "/console/retention/holds", adminOnly: true) { try await retention.place($0) }
        post(router, "/console/retention/holds/:id/release", adminOnly: true) { try await retention.release($0) }
        get(router, "/console/policies", view: "policies", adminOnly: true) { try await policies.list($0) }
        get(router, "/console/policies/version", view: "policies.version", adminOnly: true) { try await policies.version($0) }
        get(router, "/console/policies/diff", view: "policies.diff", adminOnly: true) { try await policies.diff($0) }
        get(router, "/console/explain", view: "explain", adminOnly: true) { try await policies.explainForm($0) }
        post(router, "/console/explain", adminOnly: true) { try await policies.explain($0) }
        post(router, "/console/policies/activate", adminOnly: true) { try await policies.activate($0) }
        post(router, "/console/policies/apply", adminOnly: true) { try await policies.apply($0) }
        get(router, "/console/access", view: "access", adminOnly: true) { try await access.render($0) }
        post(router, "/console/access/keys", adminOnly: true) { try await access.createKey($0) }
        post(router, "/console/access/keys/:id/revoke", adminOnly: true) { try await access.revokeKey($0) }
        post(router, "/console/access/providers", adminOnly: true) { try await access.setProvider($0) }
    }

    private func get(_ router: Router<AirlockRequestContext>, _ path: RouterPath, view: String?, adminOnly: Bool = false, _ handler: @escaping Handler) {
        router.get(path) { request, context in
            await authenticated(request, context, adminOnly: adminOnly, view: view, handler)
        }
    }

    private func post(_ router: Router<AirlockRequestContext>, _ path: RouterPath, adminOnly: Bool, _ handler: @escaping Handler) {
        router.post(path) { request, context in
            await authenticated(request, context, adminOnly: adminOnly, view: nil, handler)
        }
    }

    // MARK: Sessions

    func currentSession(_ request: Request) -> ConsoleSession? {
        guard let id = request.cookies[Self.sessionCookie]?.value, !id.isEmpty else { return nil }
        return sessions.lookup(id)
    }

    func secure(_ request: Request) -> Bool {
        // Served over the TLS listener, or behind a TLS-terminating proxy that says so.
        services.configuration.listen.usesTLS || deps.alwaysSecureCookies || request.headers[.init("x-forwarded-proto")!]?.lowercased() == "https"
    }

    func sessionCookie(_ request: Request, value: String, maxAge: Int?) -> Cookie {
        Cookie(name: Self.sessionCookie, value: value, maxAge: maxAge, path: "/console", secure: secure(request), httpOnly: true, sameSite: .strict)
    }

    /// A cross-site POST either has no session cookie (SameSite=Strict) or a foreign Origin.
    static func sameOrigin(_ request: Request) -> Bool {
        guard let origin = request.headers[.origin] else { return true }
        guard let host = request.head.authority ?? request.headers[.init("host")!] else { return false }
        return origin == "http://\(host)" || origin == "https://\(host)"
    }

    /// Every console page reads the database through the pool, which after a long outage sits
    /// out a reconnect backoff of up to a minute: a page would wait that long. While the
    /// readiness probe (once a second) finds the pool without a working connection, pages are
    /// refused at once, saying why.
    func databaseUnavailable(session: ConsoleSession?) -> Response? {
        let readiness = services.readiness
        guard !readiness.isDatabaseUp || !readiness.isPoolUp else { return nil }
        var response = ConsolePage.error(.serviceUnavailable, readiness.isDatabaseUp
            ? "The database is back and the console is reconnecting to it (up to a minute after a long outage). Try again shortly."
            : "The database is unreachable, so the console can neither show nor change anything. Try again shortly.", session: session)
        response.headers[.retryAfter] = "5"
        return response
    }

    func authenticated(_ request: Request, _ context: AirlockRequestContext, adminOnly: Bool, view: String?, _ handler: Handler) async -> Response {
        let started = ContinuousClock.now
        let isPost = request.method == .post
        guard let cookie = request.cookies[Self.sessionCookie]?.value, var session = sessions.lookup(cookie) else {
            return isPost ? ConsolePage.error(.forbidden, "Your session has ended. Sign in again.", session: nil) : ConsolePage.redirect("/console/sign-in")
        }
        if let refused = databaseUnavailable(session: session) { return refused }
        do {
            guard let current = try await operators.active(id: session.operatorID) else {
                sessions.removeAll(operatorID: session.operatorID)
                return isPost ? ConsolePage.error(.forbidden, "This operator token was revoked.", session: nil) : ConsolePage.redirect("/console/sign-in")
            }
            session.role = current.role
            if adminOnly && !session.isAdmin {
                return ConsolePage.error(.forbidden, "This page needs the admin role.", session: session)
            }
            var form = ConsoleForm(nil)
            if isPost {
                let bytes = try await RequestBody.collect(request, limit: Self.maxFormBytes)
                form = ConsoleForm(String(decoding: bytes, as: UTF8.self))
                guard Self.sameOrigin(request), ConsoleSessionStore.tokensEqual(form.raw("_csrf"), session.csrfToken) else {
                    return ConsolePage.error(.forbidden, "The form was not accepted (missing or wrong CSRF token). Reload the page and try again.", session: session)
                }
            }
            let r = ConsoleRequest(request: request, context: context, session: session, query: ConsoleForm(request.uri.query), form: form,
                                   services: services, deps: deps, recorder: recorder)
            if let view { try await r.record("console.view", target: view) }
            var response = try await handler(r)
            let elapsed = ContinuousClock.now - started
            let ms = Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
            response.headers[.init("server-timing")!] = String(format: "app;dur=%.1f", ms)
            return response
        } catch let e as ConsoleError {
            return ConsolePage.error(e.status, e.message, session: session)
        } catch is ConsoleAuditUnavailable {
            return ConsolePage.error(.serviceUnavailable, "The console could not record this action in the audit log, so it was not carried out. Try again shortly.", session: session)
        } catch let e as GovernanceError {
            return ConsolePage.error(.init(code: e.httpStatus), e.message, session: session)
        } catch let e as AirlockError {
            return ConsolePage.error(.init(code: e.httpStatus), e.message, session: session)
        } catch {
            context.logger.error("console page failed", metadata: ["error_type": .string(String(describing: type(of: error)))])
            return ConsolePage.error(.internalServerError, "The page could not be rendered (database unavailable or internal error). Request id \(context.requestID).", session: session)
        }
    }

    // MARK: Sign-in

    func signInForm(_ request: Request, context: AirlockRequestContext, message: String? = nil, status: HTTPResponse.Status = .ok) -> Response {
        if message == nil, currentSession(request) != nil { return ConsolePage.redirect("/console/overview") }
        // Login CSRF: the form carries the same random value as a short-lived cookie.
        let nonce = ConsoleSessionStore.randomToken()
        var body = "<div class=\"signin\"><div class=\"card\"><h1>Airlock console</h1>"
        body += "<p class=\"sub\">Sign in with an operator token (created with <code>airlock operator create</code>).</p>"
        if let message { body += "<div class=\"notice bad\">\(ConsoleHTML.escape(message))</div>" }
        body += """
        <form method="post" action="/console/sign-in"><input type="hidden" name="_csrf" value="\(nonce)">
        <label>Operator token<input type="password" name="token" autocomplete="off" required autofocus></label>
        <p><button type="submit">Sign in</button></p></form></div></div>
        """
        var response = ConsolePage.html(status, ConsolePage.document(title: "Sign in", body: body, session: nil, section: nil))
        response.setCookie(Cookie(name: Self.signInCookie, value: nonce, maxAge: 900, path: "/console/sign-in", secure: secure(request), httpOnly: true, sameSite: .strict))
        return response
    }

    func signIn(_ request: Request, context: AirlockRequestContext) async -> Response {
        do {
            let bytes = try await RequestBody.collect(request, limit: 16 * 1024)
            let form = ConsoleForm(String(decoding: bytes, as: UTF8.self))
            guard Self.sameOrigin(request), let nonce = request.cookies[Self.signInCookie]?.value,
                  ConsoleSessionStore.tokensEqual(form.raw("_csrf"), nonce) else {
                return signInForm(request, context: context, message: "The sign-in form expired. Try again.", status: .forbidden)
            }
            if let refused = databaseUnavailable(session: nil) { return refused }
            let client = context.remoteAddress?.ipAddress ?? "unknown"
            guard throttle.allows(client) else {
                return signInForm(request, context: context, message: "Too many failed sign-ins from this address; wait a few minutes.", status: .tooManyRequests)
            }
            guard let token = form["token"], let account = try await operators.authenticate(token: token) else {
                throttle.recordFailure(client)
                try await recorder.record("console.sign_in_failed", actor: "console:anonymous", tenant: AuditEvent.systemTenant, target: nil,
                                          details: [:], logger: context.logger)
                return signInForm(request, context: context, message: "Unknown or revoked operator token.", status: .unauthorized)
            }
            throttle.reset(client)
            try await recorder.record("console.sign_in", actor: "console:\(account.id)", tenant: AuditEvent.systemTenant, target: account.id,
                                      details: ["role": account.role.rawValue], logger: context.logger)
            let (id, _) = sessions.create(operatorAccount: account)
            var response = ConsolePage.redirect("/console/overview")
            response.setCookie(sessionCookie(request, value: id, maxAge: Int(sessions.absoluteTimeout)))
            response.setCookie(Cookie(name: Self.signInCookie, value: "", maxAge: 0, path: "/console/sign-in", secure: secure(request), httpOnly: true, sameSite: .strict))
            return response
        } catch is ConsoleAuditUnavailable {
            return ConsolePage.error(.serviceUnavailable, "Sign-in could not be recorded in the audit log, so it was refused. Try again shortly.", session: nil)
        } catch {
            context.logger.error("console sign-in failed", metadata: ["error_type": .string(String(describing: type(of: error)))])
            return ConsolePage.error(.serviceUnavailable, "Sign-in is unavailable (database unreachable). Request id \(context.requestID).", session: nil)
        }
    }

    static func asset(_ text: String, type: String) -> Response {
        var h = ConsolePage.headers(contentType: type)
        h[.cacheControl] = "public, max-age=3600"
        return Response(status: .ok, headers: h, body: .init(byteBuffer: ByteBuffer(string: text)))
    }
}
