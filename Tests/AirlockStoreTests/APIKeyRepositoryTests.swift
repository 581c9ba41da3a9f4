import AirlockStore
import Foundation
import Testing

struct APIKeyGeneratorTests {
    @Test func keysHaveTheDocumentedShapeAndAreUnique() {
        let keys = (0..<200).map { _ in APIKeyGenerator.newKey() }
        for key in keys {
            #expect(key.hasPrefix("ak_live_"))
            let secret = key.dropFirst("ak_live_".count)
            #expect(secret.count >= 32)
            #expect(secret.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber) })
        }
        #expect(Set(keys).count == keys.count)
        #expect(APIKeyGenerator.displayPrefix(of: keys[0]).count == 12)
        #expect(APIKeyGenerator.newKeyID().hasPrefix("key_"))
    }

    @Test func hashIsSHA256OfTheKey() {
        // SHA-256("abc")
        #expect(APIKeyHash(presentedKey: "abc").description == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }
}

@Suite(.enabled(if: TestDatabase.isConfigured, TestDatabase.skipReason))
struct APIKeyRepositoryTests {
    @Test func createdKeyAuthenticatesUntilRevoked() async throws {
        try await TestDatabase.withFreshDatabase { store, _ in
            try await store.tenants.create(id: "acme", name: "Acme")
            let issued = try await store.keys.create(tenant: "acme", name: "ci")
            #expect(issued.plaintextKey.hasPrefix("ak_live_"))
            #expect(issued.prefix == String(issued.plaintextKey.prefix(12)))

            let auth = try #require(try await store.keys.authenticate(presentedKey: issued.plaintextKey))
            #expect(auth == AuthenticatedKey(tenantID: "acme", keyID: issued.keyID, tenantDisabled: false, revoked: false))
            #expect(auth.isUsable)

            let revoked = try await store.keys.revoke(keyID: issued.keyID)
            #expect(revoked.isRevoked)
            let after = try #require(try await store.keys.authenticate(presentedKey: issued.plaintextKey))
            #expect(after.revoked && !after.isUsable)
            // Revoking again keeps the first revocation time.
            #expect(try await store.keys.revoke(keyID: issued.keyID).revokedAt == revoked.revokedAt)
        }
    }

    @Test func unknownAndAlteredKeysDoNotAuthenticate() async throws {
        try await TestDatabase.withFreshDatabase { store, _ in
            try await store.tenants.create(id: "acme", name: "Acme")
            let issued = try await store.keys.create(tenant: "acme")
            var altered = issued.plaintextKey
            altered.removeLast()
            altered.append(issued.plaintextKey.last == "A" ? "B" : "A")
            #expect(try await store.keys.authenticate(presentedKey: altered) == nil)
            #expect(try await store.keys.authenticate(presentedKey: "") == nil)
            #expect(try await store.keys.authenticate(presentedKey: "' OR 1=1 --") == nil)
            #expect(try await store.keys.authenticate(presentedKey: String(repeating: "x", count: 10_000)) == nil)
        }
    }

    @Test func disabledTenantIsFlagged() async throws {
        try await TestDatabase.withFreshDatabase { store, _ in
            try await store.tenants.create(id: "acme", name: "Acme")
            let issued = try await store.keys.create(tenant: "acme")
            try await store.tenants.disable("acme")
            let auth = try #require(try await store.keys.authenticate(presentedKey: issued.plaintextKey))
            #expect(auth.tenantDisabled && !auth.revoked && !auth.isUsable)
            try await store.tenants.enable("acme")
            #expect(try await store.keys.authenticate(presentedKey: issued.plaintextKey)?.isUsable == true)
        }
    }

    @Test func listShowsPrefixesNeverSecrets() async throws {
        try await TestDatabase.withFreshDatabase { store, _ in
            try await store.tenants.create(id: "acme", name: "Acme")
            try await store.tenants.create(id: "beta", name: "Beta")
            let a = try await store.keys.create(tenant: "acme", name: "first")
            _ = try await store.keys.create(tenant: "beta")
            let listed = try await store.keys.list(tenant: "acme")
            #expect(listed.map(\.id) == [a.keyID])
            #expect(listed[0].prefix == a.prefix && listed[0].name == "first")
            #expect(!String(describing: listed).contains(a.plaintextKey))
            #expect(try await store.keys.list().count == 2)
        }
    }

    @Test func keysForUnknownTenantsOrKeysAreRefused() async throws {
        try await TestDatabase.withFreshDatabase { store, _ in
            let create = await #expect(throws: GovernanceError.self) { try await store.keys.create(tenant: "ghost") }
            #expect(create?.code == .tenantNotFound)
            let revoke = await #expect(throws: GovernanceError.self) { try await store.keys.revoke(keyID: "key_nope") }
            #expect(revoke?.code == .keyNotFound)
        }
    }
}
