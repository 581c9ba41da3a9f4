"""Leak verdict for bench/soak/run.sh: fits a line to RSS and open file descriptors over the
last WINDOW minutes of the samples (after warm-up) and fails when either grows.
Usage: analyze.py SAMPLES.csv WRK.json WINDOW_MINUTES [IDLE_AFTER.csv] > result.json"""
import csv, json, sys


def slope(xs, ys):
    n = len(xs)
    mx, my = sum(xs) / n, sum(ys) / n
    var = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / var if var else 0.0


rows = [r for r in csv.DictReader(open(sys.argv[1]))]
load = json.loads(open(sys.argv[2]).read().strip().splitlines()[-1]) if len(sys.argv) > 2 else {}
window_min = float(sys.argv[3]) if len(sys.argv) > 3 else 20.0
t = [float(r["elapsed_s"]) / 60 for r in rows]
end = t[-1]
start = max(0.0, end - window_min)
sel = [i for i, x in enumerate(t) if x >= start]
if len(sel) < 5:
    sys.exit("analyze.py: fewer than 5 samples in the window")
wt = [t[i] for i in sel]
rss = [int(r["rss_kib"]) / 1024 for r in rows]
fds = [int(r["fds"]) for r in rows]
threads = [int(r["threads"]) for r in rows]
wrss, wfds, wthr = [rss[i] for i in sel], [fds[i] for i in sel], [threads[i] for i in sel]
span = wt[-1] - wt[0]
rss_slope = slope(wt, wrss)             # MiB per minute
fd_slope = slope(wt, wfds)
rss_growth = rss_slope * span           # fitted growth over the window, MiB
mean_rss = sum(wrss) / len(wrss)
# Flat: fitted growth under 2 MiB or 2% of the resident size, whichever is larger, and the
# descriptors back where they were (a fitted drift below one descriptor over the window).
rss_ok = rss_growth <= max(2.0, 0.02 * mean_rss)
fd_ok = abs(fd_slope * span) < 1.0 and max(wfds) - min(wfds) <= 4
idle = list(csv.DictReader(open(sys.argv[4]))) if len(sys.argv) > 4 else []
errors = sum(load.get("errors", {}).values()) if load else 0
result = {
    "samples": len(rows), "minutes": round(end, 1),
    "window_minutes": round(span, 1),
    "rss_mib": {"first": round(rss[0], 1), "window_start": round(wrss[0], 1), "end": round(rss[-1], 1),
                "min": round(min(wrss), 1), "max": round(max(wrss), 1), "peak_whole_run": round(max(rss), 1),
                "slope_mib_per_min": round(rss_slope, 4), "fitted_growth_over_window_mib": round(rss_growth, 2)},
    "fds": {"first": fds[0], "window_min": min(wfds), "window_max": max(wfds), "end": fds[-1],
            "slope_per_min": round(fd_slope, 4)},
    "threads": {"window_min": min(wthr), "window_max": max(wthr)},
    "after_load_idle": {"rss_mib": round(int(idle[-1]["rss_kib"]) / 1024, 1), "fds": int(idle[-1]["fds"])} if idle else None,
    "load": load,
    "rss_flat": rss_ok, "fds_flat": fd_ok, "no_errors": errors == 0,
    "verdict": "pass" if rss_ok and fd_ok and errors == 0 else "fail",
}
print(json.dumps(result, indent=2))
