"""Turns the raw outputs of bench/compare/run.sh (client and wrk JSON, RSS readings) into
results.json and results.md in the same folder, and prints the markdown.
Usage: report.py OUT_DIR"""
import json
import os
import sys

out = sys.argv[1]


def load(name):
    path = os.path.join(out, name)
    if not os.path.exists(path):
        return None
    text = open(path).read().strip()
    if not text:
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError:  # wrk output: the JSON summary is the last line
        return json.loads(text.splitlines()[-1])


def ms(us):
    return round(us / 1000, 3)


def ratio(a, b):
    return round(a / b, 2) if b else None


setup = load("setup.json")
result = {"setup": setup}
failures = []

def c1_phases(name):
    """The two c=1 phases of one workload: {"airlock": .., "litellm": .., "direct_a": .., "direct_l": ..}."""
    a, l = load(f"c1-{name}-airlock.json"), load(f"c1-{name}-litellm.json")
    if not a or not l:
        return None
    for phase in (a, l):
        for path, r in phase.items():
            if r["errors"]:
                failures.append(f"c=1 {name}: {path} had {r['errors']} errors ({r['first_error']})")
    return {"airlock": a["airlock"], "litellm": l["litellm"], "direct_a": a["direct"], "direct_l": l["direct"]}


# c=1: added latency over calling the upstream directly, each gateway against the direct calls
# of its own phase.
for name in ("plain", "pii"):
    c1 = c1_phases(name)
    if not c1:
        continue
    d, dl, a, l = (c1[p]["total_us"] for p in ("direct_a", "direct_l", "airlock", "litellm"))
    sec = {
        "requests": d["count"],
        "direct_ms": {"p50": ms(d["p50"]), "p99": ms(d["p99"])},
        "direct_in_litellm_phase_ms": {"p50": ms(dl["p50"]), "p99": ms(dl["p99"])},
        "airlock_ms": {"p50": ms(a["p50"]), "p99": ms(a["p99"])},
        "litellm_ms": {"p50": ms(l["p50"]), "p99": ms(l["p99"])},
        "airlock_added_ms": {"p50": ms(a["p50"] - d["p50"]), "p99": ms(a["p99"] - d["p99"])},
        "litellm_added_ms": {"p50": ms(l["p50"] - dl["p50"]), "p99": ms(l["p99"] - dl["p99"])},
    }
    sec["added_ratio_airlock_over_litellm"] = {
        q: ratio(sec["airlock_added_ms"][q], sec["litellm_added_ms"][q]) for q in ("p50", "p99")}
    proxy = load(f"c1-{name}-proxy.json")
    if proxy and proxy.get("proxy", {}).get("total_us") and proxy.get("direct", {}).get("total_us"):
        # The hop alone (nginx reverse proxy), against the direct calls of its own phase.
        pt, pd = proxy["proxy"]["total_us"], proxy["direct"]["total_us"]
        sec["reference_proxy_added_ms"] = {"p50": ms(pt["p50"] - pd["p50"]), "p99": ms(pt["p99"] - pd["p99"])}
    # CPU per call at c=1 (the process tree's user + system time over the phase, warm-up included).
    for who, key in (("airlock", "airlock_cpu_ms_per_call"), ("proxy", "reference_proxy_cpu_ms_per_call")):
        cpu = load(f"c1cpu-{name}-{who}.json")
        if cpu and cpu.get("calls"):
            sec[key] = round(cpu["cpu_seconds"] * 1000 / cpu["calls"], 3)
    # The same Airlock phase with LiteLLM awake beside it (run.sh stops the other gateway
    # during each gateway's c=1 phase; this one it leaves running, for comparison).
    awake = load(f"c1-{name}-airlock-litellm-awake.json")
    if awake and awake.get("airlock", {}).get("total_us") and awake.get("direct", {}).get("total_us"):
        at, ad = awake["airlock"]["total_us"], awake["direct"]["total_us"]
        sec["airlock_added_with_litellm_awake_ms"] = {"p50": ms(at["p50"] - ad["p50"]), "p99": ms(at["p99"] - ad["p99"])}
    result[f"c1_{name}"] = sec

# c=1 with every process on one CPU (no cross-CPU wake-ups): Airlock and, for the clean
# prompt, the reference proxy, against the direct calls of the same phase.
for name in ("plain", "pii"):
    same = load(f"c1same-{name}.json")
    if not same:
        continue
    for path, r in same.items():
        if r["errors"]:
            failures.append(f"c=1 one CPU {name}: {path} had {r['errors']} errors ({r['first_error']})")
    d = same["direct"]["total_us"]
    sec = {"requests": d["count"], "direct_ms": {"p50": ms(d["p50"]), "p99": ms(d["p99"])}}
    for who in ("airlock", "proxy"):
        if same.get(who, {}).get("total_us"):
            t = same[who]["total_us"]
            sec[f"{who}_added_ms"] = {"p50": ms(t["p50"] - d["p50"]), "p99": ms(t["p99"] - d["p99"])}
    result[f"c1_one_cpu_{name}"] = sec

# Streams: time to the first SSE event and the gaps between events.
for name in ("stream", "stream-pii"):
    s = c1_phases(name)
    if not s:
        continue
    base = {"airlock": "direct_a", "litellm": "direct_l"}
    f = {p: s[k]["first_byte_us"] for p, k in (("direct", "direct_a"), ("airlock", "airlock"), ("litellm", "litellm"))}
    g = {p: s[k]["event_gap_us"] for p, k in (("direct", "direct_a"), ("airlock", "airlock"), ("litellm", "litellm"))}
    sec = {"streams": f["direct"]["count"], "sse_gap_s": setup and setup.get("sse_gap_s")}
    sec["ttft_ms"] = {p: {"p50": ms(f[p]["p50"]), "p99": ms(f[p]["p99"])} for p in f}
    sec["added_ttft_ms"] = {p: {"p50": ms(f[p]["p50"] - s[base[p]]["first_byte_us"]["p50"]),
                                "p99": ms(f[p]["p99"] - s[base[p]]["first_byte_us"]["p99"])} for p in ("airlock", "litellm")}
    sec["event_gap_ms"] = {p: {"p50": ms(g[p]["p50"]), "p99": ms(g[p]["p99"])} for p in g if g[p]}
    sec["added_event_gap_ms"] = {p: {"p50": ms(g[p]["p50"] - s[base[p]]["event_gap_us"]["p50"]),
                                     "p99": ms(g[p]["p99"] - s[base[p]]["event_gap_us"]["p99"])}
                                 for p in ("airlock", "litellm") if g[p] and s[base[p]]["event_gap_us"]}
    sec["added_ttft_ratio_airlock_over_litellm"] = {
        q: ratio(sec["added_ttft_ms"]["airlock"][q], sec["added_ttft_ms"]["litellm"][q]) for q in ("p50", "p99")}
    result["c1_" + name.replace("-", "_")] = sec

# Throughput at c=N.
for name in ("plain", "pii"):
    runs = {p: load(f"load-{p}-{name}.json") for p in ("direct", "airlock", "litellm")}
    if not all(runs.values()):
        continue
    for p, r in runs.items():
        errs = sum(r["errors"].values())
        if errs:
            failures.append(f"c={setup['concurrency']} {name}: {p} had {errs} errors {r['errors']}")
    result[f"load_{name}"] = {
        "concurrency": setup["concurrency"], "seconds": setup["seconds_load"],
        # Successful responses per second (wrk's own count includes non-2xx answers).
        "rps": {p: r["ok_rps"] for p, r in runs.items()},
        "latency_ms": {p: {"p50": ms(r["latency_us"]["p50"]), "p99": ms(r["latency_us"]["p99"])} for p, r in runs.items()},
        # Gateway CPU time per request (its own process tree, user + system): the cost that
        # does not depend on how busy the shared machine was.
        "cpu_ms_per_request": {p: round(load(f"cpu-{p}-{name}.json")["cpu_seconds"] * 1000 / max(runs[p]["requests"], 1), 3)
                               for p in ("airlock", "litellm") if load(f"cpu-{p}-{name}.json")},
        "rps_ratio_airlock_over_litellm": ratio(runs["airlock"]["ok_rps"], runs["litellm"]["ok_rps"]),
        "rps_ratio_airlock_over_direct": ratio(runs["airlock"]["ok_rps"], runs["direct"]["ok_rps"]),
    }

# Memory.
idle, after = load("rss-idle.json"), load("rss-after.json")
peaks = {}
for p in ("airlock", "litellm"):
    vals = []
    for name in ("plain", "pii"):
        path = os.path.join(out, f"peak-{p}-{name}.txt")
        if os.path.exists(path):
            vals.append(int(open(path).read().strip() or 0) / 1024)
    peaks[p] = round(max(vals), 1) if vals else None
result["rss_mib"] = {"idle": idle, "peak_under_load": peaks, "after_load": after}
if idle and idle.get("litellm"):
    result["rss_mib"]["idle_ratio_airlock_over_litellm"] = ratio(idle["airlock"], idle["litellm"])
if peaks.get("litellm"):
    result["rss_mib"]["peak_ratio_airlock_over_litellm"] = ratio(peaks["airlock"], peaks["litellm"])

# The targets for this machine.
targets = {}
for name in ("plain", "pii"):
    sec = result.get(f"c1_{name}")
    if sec:
        targets[f"c1_{name}_added_p50_le_0.3ms"] = sec["airlock_added_ms"]["p50"] <= 0.3
        targets[f"c1_{name}_added_p99_le_2ms"] = sec["airlock_added_ms"]["p99"] <= 2.0
    lsec = result.get(f"load_{name}")
    if lsec:
        targets[f"load_{name}_rps_ge_10x_litellm"] = (lsec["rps_ratio_airlock_over_litellm"] or 0) >= 10
result["targets"] = targets
result["failures"] = failures
# Machine speed in the same run (see run.sh): the scanner and the detect-side stages.
calibration = load("calibration.json")
if calibration:
    prose, stages = calibration.get("prompts_1kb_prose") or {}, calibration.get("chat_request") or {}
    result["calibration"] = {"scan_us_per_1kb_prose_prompt": prose.get("us_per_prompt"), "chat_request_stages_us": stages}
json.dump(result, open(os.path.join(out, "results.json"), "w"), indent=2)

# Markdown.
L = []
s = setup or {}
L.append(f"Airlock {s.get('airlock_commit')} vs LiteLLM {s.get('litellm_version')} on nginx {s.get('nginx')} mock, "
         f"{s.get('date')}, {s.get('cpus')} CPUs, "
         + (f"gateways pinned to CPU {s.get('gateway_cpus')} (nginx, PostgreSQL, drivers on CPU {s.get('side_cpus')})"
            if s.get("pinned") else "no pinning") + f", load average at the end {s.get('loadavg_end')}.")
L.append("")
L.append("| c=1, ms | direct p50 / p99 | Airlock added p50 / p99 | LiteLLM added p50 / p99 | added ratio Airlock/LiteLLM p50 / p99 |")
L.append("|---|---|---|---|---|")
for name, label in (("plain", "clean prompt (511 B)"), ("pii", "personal-data prompt (1.2 KB, pseudonymized + restored by Airlock)")):
    sec = result.get(f"c1_{name}")
    if sec:
        d, a, l, r = sec["direct_ms"], sec["airlock_added_ms"], sec["litellm_added_ms"], sec["added_ratio_airlock_over_litellm"]
        L.append(f"| {label} | {d['p50']} / {d['p99']} | {a['p50']} / {a['p99']} | {l['p50']} / {l['p99']} | {r['p50']} / {r['p99']} |")
L.append("")
L.append("Each gateway's c=1 phase ran with the other gateway stopped (SIGSTOP)." if (setup or {}).get("other_gateway_stopped_during_c1")
         else "Both gateways stayed running through every c=1 phase (FREEZE=0).")
awake = result.get("c1_plain", {}).get("airlock_added_with_litellm_awake_ms")
if awake:
    L[-1] += f" Airlock with LiteLLM awake beside it, clean prompt, same run: {awake['p50']} / {awake['p99']} ms added (p50 / p99)."
ref = result.get("c1_plain", {}).get("reference_proxy_added_ms")
if ref:
    L.append("")
    L.append(f"Reference for the hop alone: nginx as a keep-alive reverse proxy on the gateways' CPU adds {ref['p50']} / {ref['p99']} ms "
             f"(p50 / p99, clean prompt, same run) with no scanning, policy or audit.")
cpu_plain, cpu_pii = (result.get(f"c1_{n}", {}).get("airlock_cpu_ms_per_call") for n in ("plain", "pii"))
if cpu_plain is not None or cpu_pii is not None:
    proxy_cpu = result.get("c1_plain", {}).get("reference_proxy_cpu_ms_per_call")
    L.append("")
    L.append(f"CPU per c=1 call (process tree, user + system): Airlock {cpu_plain} ms clean, {cpu_pii} ms with personal data"
             + (f"; the reference proxy {proxy_cpu} ms." if proxy_cpu is not None else "."))
one_cpu = [(label, result.get(f"c1_one_cpu_{name}")) for name, label in (("plain", "clean prompt"), ("pii", "personal-data prompt"))]
if any(sec for _, sec in one_cpu):
    L.append("")
    L.append("| c=1 with every process on one CPU, ms | direct p50 / p99 | Airlock added p50 / p99 | reference proxy added p50 / p99 |")
    L.append("|---|---|---|---|")
    for label, sec in one_cpu:
        if sec:
            a, p = sec.get("airlock_added_ms"), sec.get("proxy_added_ms")
            L.append(f"| {label} | {sec['direct_ms']['p50']} / {sec['direct_ms']['p99']} | "
                     f"{a['p50']} / {a['p99']} | " + (f"{p['p50']} / {p['p99']}" if p else "—") + " |")
L.append("")
L.append("| streams (SSE), ms | direct TTFT p50 / p99 | added TTFT Airlock | added TTFT LiteLLM | inter-event gap p50 / p99 direct | Airlock | LiteLLM |")
L.append("|---|---|---|---|---|---|---|")
for name, label in (("stream", "clean prompt"), ("stream_pii", "personal-data prompt")):
    sec = result.get(f"c1_{name}")
    if sec:
        t, at, lt = sec["ttft_ms"]["direct"], sec["added_ttft_ms"]["airlock"], sec["added_ttft_ms"]["litellm"]
        g = sec["event_gap_ms"]
        L.append(f"| {label} | {t['p50']} / {t['p99']} | {at['p50']} / {at['p99']} | {lt['p50']} / {lt['p99']} | "
                 f"{g['direct']['p50']} / {g['direct']['p99']} | {g['airlock']['p50']} / {g['airlock']['p99']} | {g['litellm']['p50']} / {g['litellm']['p99']} |")
L.append("")
L.append(f"| c={s.get('concurrency')}, {s.get('seconds_load')} s | direct rps | Airlock rps (p50 / p99 ms) | LiteLLM rps (p50 / p99 ms) | Airlock/LiteLLM | Airlock/direct | CPU ms per request Airlock / LiteLLM |")
L.append("|---|---|---|---|---|---|---|")
for name, label in (("plain", "clean prompt"), ("pii", "personal-data prompt")):
    sec = result.get(f"load_{name}")
    if sec:
        r, lat = sec["rps"], sec["latency_ms"]
        L.append(f"| {label} | {r['direct']:.0f} | {r['airlock']:.0f} ({lat['airlock']['p50']} / {lat['airlock']['p99']}) | "
                 f"{r['litellm']:.0f} ({lat['litellm']['p50']} / {lat['litellm']['p99']}) | {sec['rps_ratio_airlock_over_litellm']}× | {sec['rps_ratio_airlock_over_direct']}× | "
                 f"{sec['cpu_ms_per_request'].get('airlock')} / {sec['cpu_ms_per_request'].get('litellm')} |")
L.append("")
m = result["rss_mib"]
if idle:
    L.append(f"Resident memory (MiB): Airlock idle {idle['airlock']} (its PostgreSQL {idle.get('airlock_postgres')}), "
             f"peak under load {peaks.get('airlock')}, after {after and after.get('airlock')}; "
             f"LiteLLM idle {idle['litellm']}, peak {peaks.get('litellm')}, after {after and after.get('litellm')}; "
             f"ratio Airlock/LiteLLM idle {m.get('idle_ratio_airlock_over_litellm')}, peak {m.get('peak_ratio_airlock_over_litellm')}.")
if calibration:
    L.append("")
    L.append(f"Machine calibration (`airlock scan bench` on the gateways' CPU, same run): {prose.get('us_per_prompt')} µs to scan a "
             f"1 KB prose prompt (~6 on the faster VM of runs N/O); the personal-data call's detect-side work before sending "
             f"{stages.get('us_before_sending')} µs (parse {stages.get('us_parse')}, scan {stages.get('us_scan')}, "
             f"transform {stages.get('us_transform')}, serialize {stages.get('us_serialize')}), restoring the answer "
             f"{stages.get('us_restore_answer')} µs, fingerprints {stages.get('us_fingerprints')} µs after the answer.")
L.append("")
L.append("Targets: " + ", ".join(f"{k} {'met' if v else 'NOT met'}" for k, v in targets.items()))
if failures:
    L.append("")
    L.append("Errors: " + "; ".join(failures))
text = "\n".join(L) + "\n"
open(os.path.join(out, "results.md"), "w").write(text)
print(text)
