import Testing
@testable import AirlockStore

@Suite struct SQLScriptTests {
    @Test func splitsAtTopLevelSemicolonsOnly() {
        let sql = """
        -- a comment; with a semicolon
        CREATE TABLE a (x text DEFAULT 'a;b');
        /* block; comment */
        CREATE FUNCTION f() RETURNS trigger AS $body$ BEGIN RETURN NEW; END; $body$ LANGUAGE plpgsql;
        SELECT "odd;name" FROM a;
        SELECT 'it''s; fine'
        """
        let statements = SQLScript.statements(sql)
        #expect(statements.count == 4)
        #expect(statements[0].hasSuffix("DEFAULT 'a;b')"))
        #expect(statements[1].contains("RETURN NEW; END; $body$ LANGUAGE plpgsql"))
        #expect(statements[2] == "SELECT \"odd;name\" FROM a")
        #expect(statements[3] == "SELECT 'it''s; fine'")
    }

    @Test func commentOnlyAndEmptyInputsGiveNothing() {
        #expect(SQLScript.statements("").isEmpty)
        #expect(SQLScript.statements("-- only\n;\n  ;").isEmpty)
    }
}
