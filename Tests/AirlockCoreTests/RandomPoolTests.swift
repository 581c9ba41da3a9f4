import Foundation
import Testing
@testable import AirlockCore

@Suite struct RandomPoolTests {
    @Test func identifiersNeverRepeatAcrossRefills() {
        let pool = RandomPool()
        var seen = Set<UUID>()
        // 20,000 identifiers span 78 refills of the 4 KB buffer.
        for _ in 0..<20_000 { seen.insert(pool.uuid()) }
        #expect(seen.count == 20_000)
    }

    @Test func uuidsAreVersionFourVariantOne() {
        let pool = RandomPool()
        for _ in 0..<1_000 {
            let text = pool.uuid().uuidString
            let chars = Array(text)
            #expect(chars[14] == "4")
            #expect("89AB".contains(chars[19]))
        }
    }

    @Test func everyBytePositionVaries() {
        // A pool that handed out a zeroed or stale buffer would repeat bytes.
        let pool = RandomPool()
        var values = [Set<UInt8>](repeating: [], count: 16)
        for _ in 0..<2_000 {
            let (a, b) = pool.next128()
            withUnsafeBytes(of: (a, b)) { raw in for i in 0..<16 { values[i].insert(raw[i]) } }
        }
        for (position, distinct) in values.enumerated() {
            #expect(distinct.count > 200, "byte \(position) took only \(distinct.count) values")
        }
    }

    @Test func concurrentCallersGetDistinctValues() async {
        let pool = RandomPool()
        let all = await withTaskGroup(of: [UUID].self) { group in
            for _ in 0..<8 { group.addTask { (0..<2_000).map { _ in pool.uuid() } } }
            var out: [UUID] = []
            for await part in group { out += part }
            return out
        }
        #expect(all.count == 16_000)
        #expect(Set(all).count == 16_000)
    }
}
