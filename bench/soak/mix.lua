-- wrk script for the soak: clean, personal-data and streamed chat requests in turn, each
-- connection pausing BENCH_DELAY_MS before every request so the rate stays steady
-- (connections / (delay + latency)). Prints one JSON line at the end.
local key = os.getenv("BENCH_KEY")
local dir = os.getenv("BENCH_BODIES")
local delay_ms = tonumber(os.getenv("BENCH_DELAY_MS") or "30")

local function read(name)
    local f = assert(io.open(dir .. "/" .. name, "rb"))
    local s = f:read("*a")
    f:close()
    return s
end

local headers = { ["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. key }
local bodies = { read("plain.json"), read("pii.json"), read("stream.json") }
local requests = {}
local n = 0

-- Formatted per thread in init(): only then does wrk know the Host header to send.
init = function(_)
    for i, b in ipairs(bodies) do requests[i] = wrk.format("POST", "/v1/chat/completions", headers, b) end
end

request = function()
    n = n + 1
    return requests[(n % #requests) + 1]
end

delay = function() return delay_ms end

done = function(summary, latency, _)
    local e = summary.errors
    io.write(string.format(
        '{"requests":%d,"seconds":%.3f,"rps":%.1f,"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
        '"latency_us":{"p50":%d,"p99":%d,"max":%d}}\n',
        summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
        e.connect, e.read, e.write, e.status, e.timeout,
        latency:percentile(50), latency:percentile(99), latency.max))
end
