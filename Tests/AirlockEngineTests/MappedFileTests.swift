import Foundation
import Testing
@testable import AirlockEngine

/// How the weights are held: a huge-page copy for models that fit comfortably, else (or when
/// switched off) the file mapping; either way the bytes are the file's.
@Suite struct MappedFileTests {
    @Test func copyOnlyWhenTheModelFitsComfortably() {
        let gib = 1 << 30
        #expect(MappedFile.wantsHugePageCopy(size: 100 << 20, setting: nil, availableBytes: 16 * gib))
        #expect(MappedFile.wantsHugePageCopy(size: 8 * gib, setting: nil, availableBytes: 16 * gib))
        // A model larger than half of what is free stays a file mapping the kernel can page out.
        #expect(!MappedFile.wantsHugePageCopy(size: 9 * gib, setting: nil, availableBytes: 16 * gib))
        #expect(!MappedFile.wantsHugePageCopy(size: 100 << 20, setting: nil, availableBytes: nil))
    }

    @Test func settingOverridesTheSizeRule() {
        #expect(!MappedFile.wantsHugePageCopy(size: 1 << 20, setting: "off", availableBytes: 1 << 40))
        #expect(!MappedFile.wantsHugePageCopy(size: 1 << 20, setting: "OFF", availableBytes: 1 << 40))
        #expect(MappedFile.wantsHugePageCopy(size: 1 << 40, setting: "on", availableBytes: 1 << 20))
    }

    @Test func availableMemoryIsRead() throws {
        #if os(Linux)
        let bytes = try #require(MappedFile.availableMemory())
        #expect(bytes > 16 << 20)
        #endif
    }

    @Test func mappedBytesAreTheFilesBytes() throws {
        // Larger than one 2 MB page and not a multiple of it, so the copy's rounding shows.
        let (bytes, path) = try Self.randomFile(count: (2 << 20) + 12_345, seed: 0x9E37_79B9_7F4A_7C15)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let file = try MappedFile(path: path)
        #expect(file.count == bytes.count)
        let same = bytes.withUnsafeBytes { memcmp($0.baseAddress!, file.base, bytes.count) == 0 }
        #expect(same)
    }

    /// A repacked matrix hands its original pages back; what is left at those addresses must
    /// still be the file's bytes, on a huge-page copy and on a plain file mapping alike.
    @Test(arguments: ["on", "off"])
    func releasedPagesStillReadAsTheFile(hugePages: String) throws {
        let (bytes, path) = try Self.randomFile(count: (3 << 20) + 777, seed: 0x2545_F491_4F6C_DD1D)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let file = try MappedFile(path: path, hugePageSetting: hugePages)
        // An unaligned range across the 2 MB boundary: only the whole pages inside go.
        let start = 1_000_003, length = 2_000_000
        let released = MappedFile.releasePages(file.base + start, bytes: length)
        #expect(released > 0 && released <= length && released % 4096 == 0)
        let same = bytes.withUnsafeBytes { memcmp($0.baseAddress!, file.base, bytes.count) == 0 }
        #expect(same)
        // Memory that is not a model file's mapping is left alone.
        let anonymous = try MappedFile(bytes: [1, 2, 3, 4])
        #expect(MappedFile.releasePages(anonymous.base, bytes: 4) == 0)
    }

    /// `count` pseudo-random bytes written to a new temporary file; the caller removes it.
    static func randomFile(count: Int, seed: UInt64) throws -> (bytes: [UInt8], path: String) {
        var bytes = [UInt8](repeating: 0, count: count)
        var state = seed
        for i in bytes.indices {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            bytes[i] = UInt8(truncatingIfNeeded: state >> 56)
        }
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("mapped-\(UUID().uuidString).bin").path
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return (bytes, path)
    }
}
