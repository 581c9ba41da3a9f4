import Foundation
import Testing
@testable import AirlockPolicy

/// `airlock policy apply|validate`, `provider import`: file arguments that are not small
/// regular files used to be read whole (`/dev/zero` until memory ran out, a FIFO forever).
@Suite struct HostileFileTests {
    func refusal(_ path: String) -> String? {
        do { _ = try PolicyFile.read(path); return nil } catch { return error.description }
    }

    @Test func devicesDirectoriesAndMissingFilesAreRefusedAtOnce() {
        #expect(refusal("/dev/zero")?.contains("not a regular file") == true)
        #expect(refusal("/")?.contains("not a regular file") == true)
        #expect(refusal("/nonexistent/../policy.yaml")?.contains("cannot read file") == true)
    }

    @Test func fifoIsRefusedWithoutBlocking() throws {
        let path = NSTemporaryDirectory() + "airlock-fifo-\(UInt32.random(in: 0...UInt32.max)).yaml"
        #expect(mkfifo(path, 0o600) == 0)
        defer { unlink(path) }
        #expect(refusal(path)?.contains("not a regular file") == true)
    }

    @Test func hugeFileIsRefused() throws {
        let path = NSTemporaryDirectory() + "airlock-big-\(UInt32.random(in: 0...UInt32.max)).yaml"
        try Data(count: PolicyFile.maxFileBytes + 1).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(refusal(path)?.contains("larger than") == true)
    }

    @Test func ordinaryPolicyFileLoads() throws {
        let path = NSTemporaryDirectory() + "airlock-ok-\(UInt32.random(in: 0...UInt32.max)).yaml"
        try "apiVersion: airlock/v1\nkind: Policy\nname: ok\n".write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(try Policy.load(contentsOf: path).name == "ok")
    }
}
