-- wrk script for bench/compare's throughput runs: the same POST on every connection
-- (BENCH_BODY file, BENCH_PATH, optional BENCH_AUTH bearer). Prints one JSON line at the end.
local function read(path)
    local f = assert(io.open(path, "rb"))
    local s = f:read("*a")
    f:close()
    return s
end

local headers = { ["Content-Type"] = "application/json" }
local auth = os.getenv("BENCH_AUTH")
if auth and auth ~= "" then headers["Authorization"] = "Bearer " .. auth end
local body = read(os.getenv("BENCH_BODY"))
local req

-- Formatted per thread in init(): only then does wrk know the Host header to send.
init = function(_)
    req = wrk.format("POST", os.getenv("BENCH_PATH"), headers, body)
end

request = function() return req end

done = function(summary, latency, _)
    local e = summary.errors
    io.write(string.format(
        '{"requests":%d,"seconds":%.3f,"rps":%.1f,"ok_rps":%.1f,"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
        '"latency_us":{"p50":%d,"p90":%d,"p99":%d,"max":%d}}\n',
        summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
        (summary.requests - e.status) / (summary.duration / 1e6),
        e.connect, e.read, e.write, e.status, e.timeout,
        latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
