-- Requests for wrk, read from the environment so one script serves every row of
-- bench/run.sh. WRK_REQS holds one request per line, "METHOD PATH [BODY]"; the requests are
-- sent in turn on each connection. A body is sent as an HTML form
-- (application/x-www-form-urlencoded), as InvAPI clients send it. "{n}" in a body becomes
-- a counter, so that a write (tags/add) really changes something on every request.

local reqs = {}
local counter = 0
local turn = 0

for line in (os.getenv("WRK_REQS") or ""):gmatch("[^\n]+") do
  local method, path, body = line:match("^(%S+)%s+(%S+)%s*(.*)$")
  if method then
    if body == "" then body = nil end
    local headers = {}
    if body then headers["Content-Type"] = "application/x-www-form-urlencoded" end
    local dynamic = body ~= nil and body:find("{n}", 1, true) ~= nil
    table.insert(reqs, {
      method = method, path = path, body = body, headers = headers, dynamic = dynamic,
      -- Formatted once: the common case costs wrk no string work per request.
      raw = (not dynamic) and wrk.format(method, path, headers, body) or nil,
    })
  end
end

if #reqs == 0 then
  io.stderr:write("wrk.lua: WRK_REQS names no request\n")
  os.exit(2)
end

request = function()
  turn = turn % #reqs + 1
  local r = reqs[turn]
  if not r.dynamic then return r.raw end
  counter = counter + 1
  return wrk.format(r.method, r.path, r.headers, (r.body:gsub("{n}", tostring(counter))))
end

-- The tail of the latency distribution, for bench.py to pool several rounds' figures:
-- "PCT <percentile> <microseconds>" lines.
-- (wrk answers 0 for the 100th percentile: the slowest request is latency.max.)
local tail = {50, 75, 90, 95, 97, 98, 98.5, 99, 99.25, 99.5, 99.75, 99.9, 99.99}

done = function(summary, latency, requests)
  for _, p in ipairs(tail) do
    io.write(string.format("PCT %g %d\n", p, latency:percentile(p)))
  end
  io.write(string.format("PCT 100 %d\n", latency.max))
end
