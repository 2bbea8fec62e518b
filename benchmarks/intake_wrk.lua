-- wrk script for benchmarks/intake.py (run by it; not a test). The same requester as
-- intake_locust.py, in a load generator that costs the shared processors less.
--
--   wrk -t N -c N -d <seconds + drain>s -s intake_wrk.lua <url> -- submit <seconds>
--   wrk -t N -c N -d <seconds>s -s intake_wrk.lua <url> -- trivial
--
-- One connection per thread, so each thread's globals are one requester's state: GET the
-- request form, then POST it with the form's one-time token (1 or 2 people). A submission
-- counts as acknowledged only when the answer shows a receipt. After <seconds> no new form is
-- opened (the threads fetch the start page once a second instead) so that every submission
-- already sent gets its answer before wrk stops; the last line printed is a JSON summary.

local ffi = require("ffi")
ffi.cdef [[
typedef struct { long tv_sec; long tv_nsec; } haven_timespec;
int clock_gettime(int clock_id, haven_timespec *tp);
]]
local clock = ffi.new("haven_timespec")
local function now_ms()
  ffi.C.clock_gettime(1, clock) -- CLOCK_MONOTONIC
  return tonumber(clock.tv_sec) * 1000 + tonumber(clock.tv_nsec) / 1e6
end

local threads = {}
local next_id = 0

function setup(thread)
  next_id = next_id + 1
  thread:set("id", next_id)
  table.insert(threads, thread)
end

local function unescape(s)
  return (s:gsub("&quot;", '"'):gsub("&#x27;", "'"):gsub("&#39;", "'"):gsub("&lt;", "<")
    :gsub("&gt;", ">"):gsub("&amp;", "&"))
end

local function urlencode(s)
  return (s:gsub("[^%w%-%._~]", function(c) return string.format("%%%02X", string.byte(c)) end))
end

function init(args)
  mode = args[1] or "submit"
  window_ms = (tonumber(args[2]) or 60) * 1000
  n = id * 10000000
  sent, acknowledged, failed = 0, 0, 0
  latencies = {}
  step = "form"
  started = nil
end

function request()
  if started == nil then started = now_ms() end
  if mode == "trivial" then
    return wrk.format("GET", "/portal/en/")
  end
  if step == "drain" or (step == "form" and now_ms() - started >= window_ms) then
    step = "drain"
    return wrk.format("GET", "/portal/en/")
  end
  if step == "form" then
    n = n + 1
    people = (n % 3 == 0) and 2 or 1
    return wrk.format("GET", "/portal/en/request/?people=" .. people)
  end
  local body = "token=" .. urlencode(token) .. "&people=" .. urlencode(hidden_people)
    .. "&country=CN&region=Shenyang&urgency=3&contact="
    .. "&account=" .. urlencode("We left the restaurant and are hiding with a friend.")
  for i = 0, people - 1 do
    body = body .. "&name_" .. i .. "=" .. urlencode("김 " .. n .. "-" .. i)
  end
  sent = sent + 1
  posted_at = now_ms()
  return wrk.format(
    "POST", "/portal/en/request/", { ["Content-Type"] = "application/x-www-form-urlencoded" }, body
  )
end

-- Draining: one start page a second per thread, so as not to load the machine.
function delay()
  if step == "drain" then return 1000 end
  return 0
end

function response(status, headers, body)
  if mode == "trivial" or step == "drain" then
    return
  elseif step == "form" then
    token = body:match('name="token" value="([^"]*)"')
    hidden_people = body:match('name="people" value="([^"]*)"')
    if token and hidden_people then
      token, hidden_people, step = unescape(token), unescape(hidden_people), "post"
    else
      failed = failed + 1
    end
  else
    latencies[#latencies + 1] = now_ms() - posted_at
    if status == 200 and body:match('id="receipt">[%d%-]+<') then
      acknowledged = acknowledged + 1
    else
      failed = failed + 1
    end
    step = "form"
  end
end

function done(summary, latency, requests)
  local total = { sent = 0, acknowledged = 0, failed = 0 }
  local all = {}
  for _, thread in ipairs(threads) do
    for key, _ in pairs(total) do total[key] = total[key] + thread:get(key) end
    for _, ms in ipairs(thread:get("latencies")) do all[#all + 1] = ms end
  end
  table.sort(all)
  local function pct(p)
    if #all == 0 then return 0 end
    return all[math.max(1, math.ceil(#all * p))]
  end
  -- The whole run's requests (for the trivial page: the ceiling) and the POSTs' percentiles.
  io.write(string.format(
    '{"sent": %d, "acknowledged": %d, "failed": %d, "post_p50": %.1f, "post_p95": %.1f, '
      .. '"requests": %d, "duration_s": %.3f, "errors": %d, "p50": %.1f, "p95": %.1f}\n',
    total.sent, total.acknowledged, total.failed, pct(0.5), pct(0.95),
    summary.requests, summary.duration / 1e6,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout
      + summary.errors.status,
    latency:percentile(50) / 1000, latency:percentile(95) / 1000
  ))
end
