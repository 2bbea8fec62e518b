-- wrk script for benchmarks/receipt_guessing.py (run by it; not a test): an attacker guessing
-- receipts on the status form, one connection per thread, without pause.
--
--   wrk -t N -c N -d <seconds>s -s receipt_guessing_wrk.lua <url> -- <prefix>
--
-- Each thread fetches the status form once for a token (status tokens are not single-use), then
-- posts random 20-digit receipts that start with <prefix> ("" for any). It counts the answers:
-- 400 is a receipt the server looked up and found wrong (one Argon2id run), 429 a look-up it
-- refused (a wait or a proof-of-work asked), anything else is counted apart. The last line
-- printed is a JSON summary.

local threads = {}
local next_id = 0

function setup(thread)
  next_id = next_id + 1
  thread:set("id", next_id)
  table.insert(threads, thread)
end

local function urlencode(s)
  return (s:gsub("[^%w%-%._~]", function(c) return string.format("%%%02X", string.byte(c)) end))
end

local function unescape(s)
  return (s:gsub("&quot;", '"'):gsub("&#x27;", "'"):gsub("&#39;", "'"):gsub("&lt;", "<")
    :gsub("&gt;", ">"):gsub("&amp;", "&"))
end

function init(args)
  prefix = args[1] or ""
  token = nil
  checked, refused, other = 0, 0, 0
  math.randomseed(os.time() * 1000 + id)
end

function request()
  if token == nil then
    return wrk.format("GET", "/portal/en/status/")
  end
  local guess = prefix
  while #guess < 20 do
    guess = guess .. tostring(math.random(0, 9))
  end
  return wrk.format(
    "POST", "/portal/en/status/", { ["Content-Type"] = "application/x-www-form-urlencoded" },
    "token=" .. urlencode(token) .. "&receipt=" .. guess
  )
end

function response(status, headers, body)
  if token == nil then
    local found = body:match('name="token" value="([^"]*)"')
    if found then token = unescape(found) end
    return
  end
  if status == 400 then
    checked = checked + 1
  elseif status == 429 then
    refused = refused + 1
  else
    other = other + 1
  end
end

function done(summary, latency, requests)
  local total = { checked = 0, refused = 0, other = 0 }
  for _, thread in ipairs(threads) do
    for key, _ in pairs(total) do total[key] = total[key] + thread:get(key) end
  end
  io.write(string.format(
    '{"checked": %d, "refused": %d, "other": %d, "duration_s": %.3f, "errors": %d}\n',
    total.checked, total.refused, total.other, summary.duration / 1e6,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout
  ))
end
