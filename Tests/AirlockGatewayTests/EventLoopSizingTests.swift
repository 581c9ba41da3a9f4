import Testing
@testable import AirlockGateway

/// The event loop count follows the CPUs the process may run on, so a gateway pinned to one
/// CPU of a larger machine does not run loops that preempt each other.
@Suite struct EventLoopSizingTests {
    @Test func pinnedToFewerCPUsThanNIOCountsGetsThatManyLoops() throws {
        #expect(try EventLoopSizing.loopCount(environment: [:], nioCount: 8, affinityCount: 1) == 1)
        #expect(try EventLoopSizing.loopCount(environment: [:], nioCount: 8, affinityCount: 3) == 3)
    }

    @Test func nioCountStandsWhenTheAffinityAllowsAsManyOrIsUnknown() throws {
        #expect(try EventLoopSizing.loopCount(environment: [:], nioCount: 2, affinityCount: 2) == nil)
        // A cgroup quota NIO already applied is below the affinity: NIO's count is kept.
        #expect(try EventLoopSizing.loopCount(environment: [:], nioCount: 2, affinityCount: 16) == nil)
        #expect(try EventLoopSizing.loopCount(environment: [:], nioCount: 4, affinityCount: nil) == nil)
    }

    @Test func explicitCountsWin() throws {
        #expect(try EventLoopSizing.loopCount(environment: ["AIRLOCK_EVENT_LOOPS": "3"], nioCount: 8, affinityCount: 1) == 3)
        // NIO's own variable is left for NIO to read.
        #expect(try EventLoopSizing.loopCount(environment: ["NIO_SINGLETON_GROUP_LOOP_COUNT": "5"], nioCount: 8, affinityCount: 1) == nil)
    }

    @Test(arguments: ["0", "-1", "two", "", "1025"])
    func badExplicitCountsAreRefusedWithTheVariableNamed(_ raw: String) {
        #expect {
            _ = try EventLoopSizing.loopCount(environment: ["AIRLOCK_EVENT_LOOPS": raw], nioCount: 2, affinityCount: 2)
        } throws: { error in
            "\(error)".contains("AIRLOCK_EVENT_LOOPS")
        }
    }

    @Test func cpuListsAreCountedAsTheKernelWritesThem() {
        #expect(EventLoopSizing.cpuCount(list: "0-3,8,10-11") == 7)
        #expect(EventLoopSizing.cpuCount(list: "1") == 1)
        #expect(EventLoopSizing.cpuCount(list: " 0-1\t") == 2)
        #expect(EventLoopSizing.cpuCount(list: "3-1") == nil)
        #expect(EventLoopSizing.cpuCount(list: "") == nil)
        #expect(EventLoopSizing.cpuCount(list: "a-b") == nil)
    }

    @Test func affinityIsReadFromTheStatusLine() {
        let status = "Name:\tairlock\nCpus_allowed:\t2\nCpus_allowed_list:\t1\nMems_allowed_list:\t0\n"
        #expect(EventLoopSizing.affinityCount(status: status) == 1)
        #expect(EventLoopSizing.affinityCount(status: "Name:\tx\n") == nil)
        #expect(EventLoopSizing.affinityCount(status: nil) == nil)
        // This process: at least one CPU, never more than the machine has.
        let own = EventLoopSizing.affinityCount()
        #expect(own != nil && own! >= 1)
    }
}
