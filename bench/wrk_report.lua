-- wrk script of bench/api_bench.py.
-- From the environment: BENCH_METHOD (GET), BENCH_BODY and BENCH_CONTENT_TYPE for a POST, and
-- BENCH_TOKENS, a file of API tokens (one a line) used in turn, so that the requests spread over
-- many operators instead of hitting one operator's rows. Every answer other than 200 is counted
-- (wrk itself only counts >= 400), and done() prints one line: BENCH_JSON {...}.

local method = os.getenv("BENCH_METHOD") or "GET"
local body = os.getenv("BENCH_BODY")
local content_type = os.getenv("BENCH_CONTENT_TYPE")
local tokens_path = os.getenv("BENCH_TOKENS")

local threads = {}

function setup(thread)
  thread:set("id", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  tokens = {}
  if tokens_path and tokens_path ~= "" then
    for line in io.lines(tokens_path) do
      if line ~= "" then
        table.insert(tokens, line)
      end
    end
  end
  -- Each thread starts at a different place in the token list.
  counter = (id or 1) * 97
  non_200 = 0
  first_bad_status = 0
end

function request()
  local headers = {}
  if content_type and content_type ~= "" then
    headers["Content-Type"] = content_type
  end
  if #tokens > 0 then
    counter = counter + 1
    headers["Authorization"] = "Token " .. tokens[(counter % #tokens) + 1]
  end
  return wrk.format(method, nil, headers, body)
end

function response(status, headers, body)
  if status ~= 200 then
    non_200 = non_200 + 1
    if first_bad_status == 0 then
      first_bad_status = status
    end
  end
end

function done(summary, latency, requests)
  local bad, bad_status = 0, 0
  for _, thread in ipairs(threads) do
    bad = bad + (thread:get("non_200") or 0)
    local status = thread:get("first_bad_status") or 0
    if bad_status == 0 then
      bad_status = status
    end
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests": %d, "duration_us": %d, "bytes": %d, "non_200": %d, "first_bad_status": %d, '
      .. '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}, '
      .. '"latency_us": {"min": %d, "mean": %.1f, "max": %d, "p50": %d, "p90": %d, "p95": %d, "p99": %d}}\n',
    summary.requests, summary.duration, summary.bytes, bad, bad_status,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency.min, latency.mean, latency.max,
    latency:percentile(50), latency:percentile(90), latency:percentile(95), latency:percentile(99)
  ))
end
