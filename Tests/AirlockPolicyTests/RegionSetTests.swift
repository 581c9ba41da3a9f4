import AirlockCore
import Testing

@testable import AirlockPolicy

@Suite("Region sets")
struct RegionSetTests {
    @Test func normalisation() {
        #expect(RegionSet(["kr-*", "KR", "kr-seoul", "local"]).patterns == ["kr"])
        #expect(RegionSet(["us-east", "eu-*", "*"]) == .all)
        #expect(RegionSet(["local"]).isEmpty)
        #expect(RegionSet(["us-west", "us-east"]).patterns == ["us-east", "us-west"])
    }

    @Test func intersection() {
        func i(_ a: [String], _ b: [String]) -> [String] { RegionSet(a).intersection(RegionSet(b)).patterns }
        #expect(i(["*"], ["kr"]) == ["kr"])
        #expect(i(["kr", "eu-*"], ["eu-west", "us"]) == ["eu-west"])
        #expect(i(["kr-seoul"], ["kr"]) == ["kr-seoul"])
        #expect(i(["kr-seoul"], ["kr-busan"]) == [])
        #expect(i(["us-east", "kr"], ["us-east", "kr-seoul", "jp"]) == ["kr-seoul", "us-east"])
        #expect(RegionSet(["kr"]).intersection(.none).isEmpty)
    }

    @Test func unionAndContainsAgreeWithRegionMatches() {
        let regions = ["kr", "kr-seoul", "us", "us-east", "us-east-1", "eu-west", "cn", "local"].map { Region($0) }
        let patterns = ["*", "kr", "kr-*", "us-east", "eu-*", "cn", "jp"]
        for p in patterns {
            for r in regions where r != .local {
                #expect(RegionSet([p]).contains(r) == r.matches(p), "\(r) in \(p)")
            }
        }
        #expect(!RegionSet.all.contains(.local))
        #expect(RegionSet(["kr"]).union(RegionSet(["kr-seoul", "cn"])).patterns == ["cn", "kr"])
    }

    @Test func validation() {
        #expect(RegionSet.isValidRegion("kr") && RegionSet.isValidRegion("us-east-1") && !RegionSet.isValidRegion("USA"))
        #expect(RegionSet.isValidPattern("eu-*") && !RegionSet.isValidPattern("eu-west-*") && RegionSet.isValidPattern("local"))
    }
}
