import Testing
@testable import AirlockCore

@Suite struct EntityTypeHashingTests {
    /// `hash(into:)` uses the case index: every case must have its own, matching `allCases`.
    @Test func ordinalsAreTheCaseIndexes() {
        #expect(MemoryLayout<EntityType>.size == 1)
        for (index, type) in EntityType.allCases.enumerated() { #expect(Int(type.ordinal) == index) }
    }

    @Test func dictionariesAndSetsKeyByType() {
        var counts: [EntityType: Int] = [:]
        for (i, type) in EntityType.allCases.enumerated() { counts[type] = i }
        #expect(counts.count == EntityType.allCases.count)
        for (i, type) in EntityType.allCases.enumerated() { #expect(counts[type] == i) }
        #expect(Set(EntityType.allCases + EntityType.allCases).count == EntityType.allCases.count)
    }
}
