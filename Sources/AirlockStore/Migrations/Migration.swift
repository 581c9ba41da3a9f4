import AirlockCore
import Crypto
import Foundation

/// One numbered SQL file from `Migrations/` (`0001_name.sql`).
public struct Migration: Sendable, Equatable {
    public let version: Int
    public let name: String
    public let sql: String

    public init(version: Int, name: String, sql: String) {
        self.version = version
        self.name = name
        self.sql = sql
    }

    /// SHA-256 of the file's bytes: an applied migration whose file later changes is refused.
    public var checksum: String {
        SHA256.hash(data: Data(sql.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    /// Reads every `NNNN_name.sql` in a folder, in version order; duplicate numbers are an error.
    public static func load(from directory: String) throws(AirlockError) -> [Migration] {
        let files: [String]
        do { files = try FileManager.default.contentsOfDirectory(atPath: directory) } catch {
            throw AirlockError(.notReady, "migrations folder not found: \(directory)")
        }
        var migrations: [Migration] = []
        for file in files where file.hasSuffix(".sql") {
            let stem = file.dropLast(4)
            guard let underscore = stem.firstIndex(of: "_"), let version = Int(stem[..<underscore]) else {
                throw AirlockError(.notReady, "migration file name must look like 0001_name.sql: \(file)")
            }
            guard let sql = try? String(contentsOfFile: directory + "/" + file, encoding: .utf8) else {
                throw AirlockError(.notReady, "cannot read migration \(file)")
            }
            if migrations.contains(where: { $0.version == version }) {
                throw AirlockError(.notReady, "two migrations share version \(version)")
            }
            migrations.append(Migration(version: version, name: String(stem[stem.index(after: underscore)...]), sql: sql))
        }
        return migrations.sorted { $0.version < $1.version }
    }

    /// Where the shipped migrations live: `AIRLOCK_MIGRATIONS_DIR`, `./Migrations`, or the
    /// source checkout this binary was built from.
    public static func defaultDirectory() -> String {
        let fm = FileManager.default
        if let env = ProcessInfo.processInfo.environment["AIRLOCK_MIGRATIONS_DIR"] { return env }
        let cwd = fm.currentDirectoryPath + "/Migrations"
        if fm.fileExists(atPath: cwd) { return cwd }
        // Sources/AirlockStore/Migrations/Migration.swift → repository root.
        let source = URL(fileURLWithPath: #filePath)
        return source.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Migrations").path
    }
}
