import Foundation
import Hummingbird
import NIOCore

/// The page shell (navigation by role, sign-out form with its CSRF token) and the security
/// headers every console response carries.
enum ConsolePage {
    /// No script at all; styles and images only from this origin; forms only post here; the
    /// console cannot be framed.
    static let contentSecurityPolicy =
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

    struct NavItem {
        var path: String
        var title: String
        var adminOnly: Bool
    }

    static let navigation: [NavItem] = [
        .init(path: "/console/overview", title: "Overview", adminOnly: false),
        .init(path: "/console/audit", title: "Audit", adminOnly: false),
        .init(path: "/console/verification", title: "Verification", adminOnly: false),
        .init(path: "/console/retention", title: "Retention", adminOnly: false),
        .init(path: "/console/policies", title: "Policies", adminOnly: true),
        .init(path: "/console/explain", title: "Explain", adminOnly: true),
        .init(path: "/console/access", title: "Keys & providers", adminOnly: true),
    ]

    static func document(title: String, body: String, session: ConsoleSession?, section: String?) -> String {
        var html = """
        <!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
        <title>\(ConsoleHTML.escape(title)) · Airlock console</title>
        <link rel="stylesheet" href="/console/static/console.css"><link rel="icon" href="/console/static/favicon.svg" type="image/svg+xml">
        </head><body>
        """
        if let session {
            html += "<header class=\"top\"><a class=\"brand\" href=\"/console/overview\">Airlock</a><nav>"
            for item in navigation where !item.adminOnly || session.isAdmin {
                html += "<a \(item.path == section ? "class=\"on\" " : "")href=\"\(item.path)\">\(ConsoleHTML.escape(item.title))</a>"
            }
            html += "</nav><div class=\"who\"><span>\(ConsoleHTML.escape(session.operatorName)) · <span class=\"badge\">\(session.role.rawValue)</span></span>"
            html += "<form method=\"post\" action=\"/console/sign-out\">\(csrfField(session))<button type=\"submit\">Sign out</button></form></div></header>"
        }
        html += "<main>" + body + "</main><footer>Airlock console · times in UTC</footer></body></html>"
        return html
    }

    static func csrfField(_ session: ConsoleSession) -> String {
        "<input type=\"hidden\" name=\"_csrf\" value=\"\(ConsoleHTML.escape(session.csrfToken))\">"
    }

    static func headers(contentType: String = "text/html; charset=utf-8") -> HTTPFields {
        var h: HTTPFields = [:]
        h[.contentType] = contentType
        h[.contentSecurityPolicy] = contentSecurityPolicy
        h[.cacheControl] = "no-store"
        h[.init("x-content-type-options")!] = "nosniff"
        h[.init("x-frame-options")!] = "DENY"
        h[.init("referrer-policy")!] = "same-origin"  // "no-referrer" makes Chromium send "Origin: null" on form posts
        h[.init("cross-origin-opener-policy")!] = "same-origin"
        return h
    }

    static func html(_ status: HTTPResponse.Status = .ok, _ text: String) -> Response {
        Response(status: status, headers: headers(), body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    static func redirect(_ location: String) -> Response {
        var h = headers()
        h[.location] = location
        return Response(status: .seeOther, headers: h)
    }

    /// A full error page (signed in or not), never naming request content.
    static func error(_ status: HTTPResponse.Status, _ message: String, session: ConsoleSession?) -> Response {
        html(status, document(title: "\(status.code)", body: "<h1>\(status.code) \(ConsoleHTML.escape(status.reasonPhrase))</h1><div class=\"notice bad\">\(ConsoleHTML.escape(message))</div><p><a href=\"/console/overview\">Back to the overview</a></p>",
                              session: session, section: nil))
    }

    static func badge(_ decision: String) -> String {
        "<span class=\"badge \(ConsoleHTML.escape(decision))\">\(ConsoleHTML.escape(decision))</span>"
    }
}
