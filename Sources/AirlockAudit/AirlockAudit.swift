// AirlockAudit — the tamper-evident audit trail (issue #5).
//
// Public API (what the gateway and CLI wire together):
//
//   Recording
//   - `AuditEvent`: one call or admin action (findings as `[EntityType: Int]` + HMAC
//     fingerprints, never values); `AuditEvent.admin(action:actor:tenantID:target:details:)`.
//     `AuditPayload` carries captured bodies; the writer encrypts them (AES-GCM).
//   - `AuditWriter(client:configuration:logger:)`: a ServiceLifecycle `Service`. Put it in the
//     gateway's ServiceGroup *before* the HTTP server (services stop in reverse order, so it
//     drains after the server stopped accepting requests).
//       `record(_:)`                 non-blocking, never drops
//       `recordDurably(_:) async throws`  returns once committed or fsync'd to the spool;
//                                    throws AirlockError(.auditUnavailable) → 503 (fail-closed)
//       `flush() async`, `stats`
//   - `AuditWriterConfiguration(chainID:spoolDirectory:checkpointKey:payloadKey:)`;
//     `AuditKey.fromEnvironment(_:purpose:)` reads a key (hex or base64) from an env var.
//   - `AdminAuditLog(client:logger:checkpointKey:).record(_:)`: admin actions from any
//     process (CLI or admin API) on the shared `admin` chain.
//
//   Retention
//   - `RetentionRules` (default + per-tenant `audit_days`/`payload_days` from policies).
//   - `RetentionRunner.run(rules:now:dryRun:trigger:)`, `RetentionScheduler` (a `Service`).
//   - `LegalHolds.place/release/active`.
//
//   Reading
//   - `AuditQuery` filters → `AuditReader.search/stream/report/event(id:)`; `AuditRecord.json`,
//     `.csvLine`; `StoredPayload.decrypt(with:)`.
//   - `ChainVerifier(client:logger:checkpointKey:).verify(from:to:chainID:)` names the first
//     broken sequence of each chain.
//
//   Rollups (the console overview)
//   - `AuditRollupService` (a `Service`) runs `AuditRollupRefresher` every minute: hourly and
//     daily aggregates of closed hours (migration 0021).
//   - `AuditRollupReader` answers an `AuditOverview` from rollups where `AuditRollupCoverage`
//     proves a day unchanged since it was rolled up, and from `audit_events` elsewhere, so
//     it always equals the live aggregation.
//
// Layout: Event/ (values), Chain/ (canonical encoding, hashing, signing, verification),
// Writer/ (batching, COPY, partitions), Spool/ (durable local fallback), Payload/ (AES-GCM),
// Retention/, Rollup/, Query/, Admin/, Support/.
