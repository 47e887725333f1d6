-- Reads: each request asks for one song's counts and the caller's own vote, as the
-- player does on every track change. Songs come from the data file run.py writes.
-- An optional second argument, a number of client addresses, sends each request as from
-- one of them in X-Forwarded-For (bench/api_load_nginx: the edge trusts it from loopback
-- for the benchmark only, as it would a load balancer in front).
local songs
local addresses = 0
local counter = 0

function address(n)
  return string.format("10.%d.%d.%d", math.floor(n / 65536) % 256, math.floor(n / 256) % 256, n % 256)
end

function init(args)
  songs = dofile(args[1])
  addresses = tonumber(args[2] or "0")
end

function request()
  counter = counter + 1
  local song = songs[(counter % #songs) + 1]
  local headers = {["X-Listener-Fingerprint"] = string.format("%032x", counter)}
  if addresses > 0 then headers["X-Forwarded-For"] = address(counter % addresses) end
  return wrk.format("GET", "/api/ratings/" .. song.id, headers)
end
