import AirlockCore
import AirlockPolicy
import AirlockStore
import Logging
import Testing

@Suite(.enabled(if: TestDatabase.isConfigured, TestDatabase.skipReason))
struct PolicyChangeListenerTests {
    /// Starts a listener in a task; the caller cancels it.
    static func start(_ url: DatabaseURL, _ recorder: EventRecorder) throws -> Task<Void, any Error> {
        let listener = try PolicyChangeListener(url: url, backoff: .init(initial: .milliseconds(50), maximum: .milliseconds(400)),
                                                logger: TestDatabase.logger) { event in await recorder.record(event) }
        return Task { try await listener.run() }
    }

    /// Waits are generous: the suites beside this one can starve the test process for seconds
    /// on two cores (a 1 s bound failed once in a fresh-clone CI run at 1.17 s). How fast a
    /// change reaches a running gateway is asserted end to end (tests/e2e).
    @Test func twoListenersOnTwoConnectionsBothReceiveAnApply() async throws {
        try await TestDatabase.withFreshDatabase { store, url in
            try await store.tenants.create(id: "acme", name: "Acme")
            let a = EventRecorder(), b = EventRecorder()
            let ta = try Self.start(url, a), tb = try Self.start(url, b)
            defer { ta.cancel(); tb.cancel() }
            #expect(await a.wait(for: .connected, timeout: .seconds(30)))
            #expect(await b.wait(for: .connected, timeout: .seconds(30)))

            _ = try await store.policies.apply(tenant: "acme", yaml: TestPolicies.blockSecrets, appliedBy: "alice")
            #expect(await a.wait(for: .policyChanged(tenant: "acme"), timeout: .seconds(30)))
            #expect(await b.wait(for: .policyChanged(tenant: "acme"), timeout: .seconds(30)))
        }
    }

    @Test func keysProvidersAndRollbacksNotify_noOpsAndFailuresDoNot() async throws {
        try await TestDatabase.withFreshDatabase { store, url in
            let events = EventRecorder()
            let task = try Self.start(url, events)
            defer { task.cancel() }
            #expect(await events.wait(for: .connected, timeout: .seconds(30)))

            try await store.tenants.create(id: "acme", name: "Acme")
            let key = try await store.keys.create(tenant: "acme")
            try await store.keys.revoke(keyID: key.keyID)
            #expect(await events.wait(for: .keysChanged(tenant: "acme"), times: 3, timeout: .seconds(30)))

            try await store.providers.add(ProviderConfig(name: "local-engine", kind: .local, region: .local,
                                                         models: [ProviderModel(name: "smollm2")]))
            #expect(await events.wait(for: .providersChanged(provider: "local-engine"), timeout: .seconds(30)))

            _ = try await store.policies.apply(tenant: "acme", yaml: TestPolicies.allowAll(), appliedBy: "a")
            _ = try await store.policies.apply(tenant: "acme", yaml: TestPolicies.blockSecrets, appliedBy: "a")
            _ = try await store.policies.rollback(tenant: "acme", to: 1)
            #expect(await events.wait(for: .policyChanged(tenant: "acme"), times: 3, timeout: .seconds(30)))

            // Neither an identical apply nor a rejected one says anything.
            _ = try await store.policies.apply(tenant: "acme", yaml: TestPolicies.allowAll(), appliedBy: "a")
            _ = try? await store.policies.apply(tenant: "acme", yaml: TestPolicies.invalid, appliedBy: "a")
            _ = try? await store.keys.create(tenant: "ghost")
            // A marker change proves everything before it has been delivered.
            try await store.tenants.create(id: "marker", name: "Marker")
            #expect(await events.wait(for: .keysChanged(tenant: "marker"), timeout: .seconds(30)))
            #expect(await events.count(of: .policyChanged(tenant: "acme")) == 3)
            #expect(await events.count(of: .keysChanged(tenant: "ghost")) == 0)
        }
    }

    @Test func reconnectsAfterTheConnectionIsKilled() async throws {
        try await TestDatabase.withFreshDatabase { store, url in
            try await store.tenants.create(id: "acme", name: "Acme")
            let events = EventRecorder()
            let task = try Self.start(url, events)
            defer { task.cancel() }
            #expect(await events.wait(for: .connected, timeout: .seconds(30)))

            #expect(try await TestDatabase.terminateListeners(url) == 1)
            #expect(await events.wait(for: .disconnected, timeout: .seconds(30)))
            #expect(await events.wait(for: .connected, times: 2, timeout: .seconds(30)))

            _ = try await store.policies.apply(tenant: "acme", yaml: TestPolicies.blockSecrets, appliedBy: "alice")
            #expect(await events.wait(for: .policyChanged(tenant: "acme"), timeout: .seconds(30)))
        }
    }

    @Test func keepsRetryingWhileTheDatabaseIsUnreachable_andStopsOnCancel() async throws {
        // A socket folder with no server: every connect fails at once.
        let nowhere = DatabaseURL(username: "airlock", database: "none", socketDirectory: "/tmp/airlock-no-such-server")
        let events = EventRecorder()
        let listener = try PolicyChangeListener(url: nowhere, backoff: .init(initial: .milliseconds(10), maximum: .milliseconds(40)),
                                                logger: Logger(label: "quiet", factory: { _ in SwiftLogNoOpLogHandler() })) { await events.record($0) }
        let task = Task { try await listener.run() }
        try await Task.sleep(for: .milliseconds(200))
        task.cancel()
        try await task.value
        #expect(await events.events.isEmpty)
    }
}
