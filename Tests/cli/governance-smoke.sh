#!/usr/bin/env bash
# Smoke test of the admin CLI against a real database:
#   Tests/cli/governance-smoke.sh <airlock binary> <database URL>
# Uses a unique tenant id, so it can share a database with other tests. Exits non-zero on
# the first failed check.
set -euo pipefail
AIRLOCK=${1:?usage: governance-smoke.sh AIRLOCK_BINARY DATABASE_URL}
export AIRLOCK_DATABASE_URL=${2:?usage: governance-smoke.sh AIRLOCK_BINARY DATABASE_URL}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
export AIRLOCK_MIGRATIONS_DIR="$ROOT/Migrations"
T="smoke-$RANDOM$RANDOM"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
pass=0
check() { # check DESCRIPTION COMMAND...
    local what=$1; shift
    if "$@"; then pass=$((pass + 1)); else echo "FAILED: $what" >&2; exit 1; fi
}

"$AIRLOCK" tenant create "$T" --name "Smoke Test" | grep -qx "created tenant $T"
check "duplicate tenant fails with one line" bash -c "! '$AIRLOCK' tenant create '$T' 2>'$WORK/err' && [ \$(wc -l < '$WORK/err') -eq 1 ]"

KEY=$("$AIRLOCK" key create --tenant "$T" --name ci 2>"$WORK/key.err")
check "key printed alone on stdout" bash -c "[[ '$KEY' =~ ^ak_live_[0-9A-Za-z]{32,}$ ]]"
check "key list never shows the secret" bash -c "! '$AIRLOCK' key list --tenant '$T' | grep -q '$KEY'"
KEY_ID=$("$AIRLOCK" key list --tenant "$T" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')

cat > "$WORK/v1.yaml" <<'YAML'
apiVersion: airlock/v1
kind: Policy
name: smoke
defaults: { action: allow }
YAML
sed 's/action: allow/action: redact/' "$WORK/v1.yaml" > "$WORK/v2.yaml"
printf 'apiVersion: airlock/v1\nname: bad\nrules:\n  - id: x\n    action: encrypt\n' > "$WORK/bad.yaml"

check "apply v1" bash -c "'$AIRLOCK' policy apply --tenant '$T' '$WORK/v1.yaml' | grep -q 'as version 1'"
check "identical apply is a no-op" bash -c "'$AIRLOCK' policy apply --tenant '$T' '$WORK/v1.yaml' | grep -q '^unchanged'"
check "apply v2" bash -c "'$AIRLOCK' policy apply --tenant '$T' '$WORK/v2.yaml' | grep -q 'as version 2'"
check "invalid policy rejected with file:line" bash -c "! '$AIRLOCK' policy apply --tenant '$T' '$WORK/bad.yaml' 2>'$WORK/bad.err' && grep -q 'bad.yaml:5:' '$WORK/bad.err'"
check "list marks v2 active" bash -c "'$AIRLOCK' policy list --tenant '$T' | grep -qE '^2 +\\*'"
check "diff shows the change" bash -c "'$AIRLOCK' policy diff --tenant '$T' --from 1 --to 2 | grep -q '^+defaults: { action: redact }'"
check "rollback to v1" bash -c "'$AIRLOCK' policy rollback --tenant '$T' --to 1 | grep -q 'now runs version 1'"
check "show prints the active YAML" bash -c "'$AIRLOCK' policy show --tenant '$T' 2>/dev/null | cmp -s - '$WORK/v1.yaml'"
check "validate (offline) still works" bash -c "'$AIRLOCK' policy validate '$ROOT/Policies/default.yaml' | grep -q '^ok'"

check "revoke key" bash -c "'$AIRLOCK' key revoke '$KEY_ID' | grep -q 'revoked key $KEY_ID'"
check "disable tenant" bash -c "'$AIRLOCK' tenant disable '$T' | grep -q 'disabled tenant $T' && '$AIRLOCK' tenant list | grep -E '^$T ' | grep -q disabled"

P="smoke-provider-$RANDOM"
check "provider add" bash -c "'$AIRLOCK' provider add '$P' --kind openai --base-url https://llm.example.com/v1 --region kr --model gpt-4o --alias gpt-4o=4o --price gpt-4o=2.5/10 --secret-env SMOKE_KEY | grep -q '^added provider $P'"
check "provider add refuses plain http" bash -c "! '$AIRLOCK' provider add '$P-x' --kind openai --base-url http://llm.example.com --region kr --model m 2>/dev/null"
check "provider list" bash -c "'$AIRLOCK' provider list | grep -E '^$P ' | grep -q SMOKE_KEY"
cat > "$WORK/providers.yaml" <<YAML
apiVersion: airlock/v1
kind: Providers
providers:
  - { name: $P-imported, kind: openai, base_url: "https://imported.example.com/v1", region: eu-west, models: [gpt-4o] }
YAML
check "provider import" bash -c "'$AIRLOCK' provider import '$WORK/providers.yaml' | grep -q '1 added, 0 updated, 0 unchanged, 0 removed'"
check "provider import again is unchanged" bash -c "'$AIRLOCK' provider import '$WORK/providers.yaml' | grep -q '0 added, 0 updated, 1 unchanged'"
check "imported provider removed" bash -c "'$AIRLOCK' provider remove '$P-imported' >/dev/null"
check "provider remove" bash -c "'$AIRLOCK' provider remove '$P' | grep -q 'removed provider $P'"

# Every state change above is on the admin audit chain, attributed, with ids only.
"$AIRLOCK" audit search --tenant "$T" --decision admin --limit 100 --json > "$WORK/audit.jsonl"
"$AIRLOCK" audit search --tenant _system --decision admin --limit 1000 --json > "$WORK/audit-system.jsonl"
audit_has() { # audit_has FILE ACTION TARGET: one admin event with that action and target
    python3 - "$@" <<'PY'
import json, sys
path, action, target = sys.argv[1:4]
rows = [json.loads(l) for l in open(path) if l.strip()]
hits = [r for r in rows if r["kind"] == "admin" and r["endpoint"] == action and r["target"] == target and r["actor"]]
sys.exit(0 if len(hits) == 1 else 1)
PY
}
check "audit: tenant.create" audit_has "$WORK/audit.jsonl" tenant.create "$T"
check "audit: key.create names the key id" audit_has "$WORK/audit.jsonl" key.create "$KEY_ID"
check "audit: key.revoke names the key id" audit_has "$WORK/audit.jsonl" key.revoke "$KEY_ID"
check "audit: policy.apply v1 and v2 (not the identical re-apply)" bash -c "[ \$(grep -c '\"endpoint\":\"policy.apply\"' '$WORK/audit.jsonl') -eq 2 ]"
check "audit: policy.rollback to v1" audit_has "$WORK/audit.jsonl" policy.rollback v1
check "audit: tenant.disable" audit_has "$WORK/audit.jsonl" tenant.disable "$T"
check "audit: provider add/import/remove on _system" bash -c "grep -q '\"endpoint\":\"provider.add\".*\"target\":\"$P\"' '$WORK/audit-system.jsonl' && grep -q '\"endpoint\":\"provider.import\"' '$WORK/audit-system.jsonl' && grep -q '\"endpoint\":\"provider.remove\".*\"target\":\"$P\"' '$WORK/audit-system.jsonl'"
check "audit: --by is the actor" bash -c "'$AIRLOCK' tenant enable '$T' --by smoke-operator >/dev/null && '$AIRLOCK' audit search --tenant '$T' --decision admin --limit 1 --json | grep -q '\"actor\":\"smoke-operator\"'"
check "audit: never the plaintext key" bash -c "! grep -qF '$KEY' '$WORK/audit.jsonl'"
check "audit verify stays green" bash -c "'$AIRLOCK' audit verify --chain admin | grep -q '^chain admin: ok'"

# policy explain: scan + decide + route for a tenant, offline, never echoing the values.
KR="$T-kr"
"$AIRLOCK" tenant create "$KR" >/dev/null
"$AIRLOCK" policy apply --tenant "$KR" "$ROOT/Policies/kr-pipa.yaml" >/dev/null
"$AIRLOCK" policy explain --tenant "$KR" "내 주민등록번호는 900101-1234568 입니다" > "$WORK/explain.txt"
check "explain finds KR_RRN with code-point offsets" grep -q 'KR_RRN \[10\.\.<24\]' "$WORK/explain.txt"
check "explain names the residency rule" grep -q 'kr-national-ids-stay-home' "$WORK/explain.txt"
check "explain uses the tenant's stored policy" grep -q 'policy: *kr-pipa v1' "$WORK/explain.txt"
check "explain prints a route or a refusal" grep -qE '^route:' "$WORK/explain.txt"
check "explain never prints the RRN" bash -c "! grep -qE '900101|1234568' '$WORK/explain.txt'"
printf '{"model":"gpt-4o","messages":[{"role":"system","content":"be brief"},{"role":"user","content":"RRN 900101-1234568"}]}' \
    | "$AIRLOCK" policy explain --tenant "$KR" --request --json > "$WORK/explain.json"
check "explain --request --json locates the finding" python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))["decision"]
f = d["findings"]
assert len(f) == 1 and f[0]["type"] == "KR_RRN" and f[0]["path"] == "messages[1].content" and (f[0]["start"], f[0]["end"]) == (4, 18), f
assert "kr-national-ids-stay-home" in d["fired_rules"] and d["destinations"] == ["kr"]
' "$WORK/explain.json"
check "explain --json never prints the RRN" bash -c "! grep -qE '900101|1234568' '$WORK/explain.json'"
check "explain falls back to the shipped default policy" bash -c "echo 'key AKIAIOSFODNN7EXAMPLE' | '$AIRLOCK' policy explain --tenant '$T-none' 2>&1 | grep -q 'not found' && '$AIRLOCK' tenant create '$T-none' >/dev/null && echo 'key AKIAIOSFODNN7EXAMPLE' | '$AIRLOCK' policy explain --tenant '$T-none' > '$WORK/default.txt' && grep -q 'default policy .*Policies/default.yaml' '$WORK/default.txt' && grep -q 'refused, 403 pii_blocked' '$WORK/default.txt' && ! grep -q AKIAIOSFODNN7EXAMPLE '$WORK/default.txt'"
check "explain of an unknown tenant fails" bash -c "! '$AIRLOCK' policy explain --tenant '$T-missing' hello 2>/dev/null"

# retention: legal holds only on tenants that exist; each step says what it did or fails in one line.
check "hold on an unknown tenant fails with one line" bash -c "! '$AIRLOCK' retention hold --tenant '$T-missing' --reason 'case 1' 2>'$WORK/err' && [ \$(wc -l < '$WORK/err') -eq 1 ] && grep -q 'not found' '$WORK/err'"
check "no hold was stored for it" bash -c "! '$AIRLOCK' retention status | grep -qE '^[0-9]+ +$T-missing '"
check "hold placed" bash -c "'$AIRLOCK' retention hold --tenant '$T' --reason 'case 42' --from 2026-01-01 | grep -qE '^legal hold [0-9]+ placed on tenant $T\$'"
check "status lists the hold" bash -c "'$AIRLOCK' retention status | grep -E '^[0-9]+ +$T ' | grep -q 'case 42'"
check "a dry run names the held tenant" bash -c "'$AIRLOCK' retention run --dry-run | grep -q 'on legal hold:.*$T'"
check "a run without the checkpoint key refuses in one line" bash -c "! env -u AIRLOCK_AUDIT_CHECKPOINT_KEY '$AIRLOCK' retention run 2>'$WORK/err' && [ \$(wc -l < '$WORK/err') -eq 1 ]"
check "release" bash -c "'$AIRLOCK' retention release --tenant '$T' | grep -qx 'released 1 legal hold on tenant $T'"
check "release again fails with one line" bash -c "! '$AIRLOCK' retention release --tenant '$T' 2>'$WORK/err' && [ \$(wc -l < '$WORK/err') -eq 1 ]"
check "status no longer lists it" bash -c "! '$AIRLOCK' retention status | grep -qE '^[0-9]+ +$T '"

echo "governance CLI smoke: $pass passed, 0 failed"
