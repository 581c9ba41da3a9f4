import AirlockCore
import Testing
@testable import AirlockStore

@Suite struct DatabaseURLTests {
    @Test func parsesTCPURLs() throws {
        let u = try DatabaseURL(parsing: "postgres://app:p%40ss@db.internal:6543/airlock?sslmode=require")
        #expect(u.username == "app" && u.password == "p@ss" && u.host == "db.internal" && u.port == 6543 && u.database == "airlock")
        #expect(u.requireTLS)
        #expect(u.socketDirectory == nil)
        #expect(!u.description.contains("p@ss"))
    }

    @Test func parsesUnixSocketURLs() throws {
        let u = try DatabaseURL(parsing: "postgresql://airlock@/airlock?host=/tmp/pg/run&port=5432")
        #expect(u.socketDirectory == "/tmp/pg/run")
        #expect(u.socketPath == "/tmp/pg/run/.s.PGSQL.5432")
        #expect(try DatabaseURL(parsing: u.description) == u)
    }

    @Test func defaultsAndErrors() throws {
        let u = try DatabaseURL(parsing: "postgres://localhost")
        #expect(u.port == 5432 && u.username == "postgres" && u.database == "postgres")
        #expect(throws: AirlockError.self) { try DatabaseURL(parsing: "mysql://x") }
        #expect(throws: AirlockError.self) { try DatabaseURL(parsing: "postgres://h:99999/db") }
    }
}
