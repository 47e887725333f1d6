-- Writes: every request is a new vote (a listener token voting on a song it has not voted
-- on), so each 200 must add exactly one vote; run.py checks that afterwards.
-- Arguments: the songs file, the listener tokens file (the cookies anonymous votes need,
-- fetched by run.py; a token is the voter), wrk's thread count and, optionally, a number of
-- client addresses: token k then votes from address k in X-Forwarded-For, as it was issued
-- (bench/api_load_nginx, see read.lua).
local songs
local addresses = 0
local tokens
local threads_total
local counter = 0
thread_id = 0  -- globals: wrk reads and sets them per thread
ok = 0
local threads = {}

function setup(thread)
  thread:set("thread_id", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  songs = dofile(args[1])
  tokens = dofile(args[2])
  threads_total = tonumber(args[3])
  addresses = tonumber(args[4] or "0")
end

function address(n)
  return string.format("10.%d.%d.%d", math.floor(n / 65536) % 256, math.floor(n / 256) % 256, n % 256)
end

function request()
  -- A request number unique across threads: the (token, song) pairs do not repeat until
  -- every token has voted on every song, and the tokens take turns (each listener votes
  -- now and then, as the per-listener limit expects).
  local n = counter * threads_total + thread_id - 1
  counter = counter + 1
  local k = n % #tokens
  local song = songs[(math.floor(n / #tokens) % #songs) + 1]
  local token = tokens[k + 1]
  local fingerprint = string.format("%016x%016x", thread_id, counter)
  local value = (n % 3 == 0) and "down" or "up"
  local body = string.format('{"value":"%s","artist":"%s","title":"%s"}', value, song.artist, song.title)
  local headers = {
    ["Content-Type"] = "application/json",
    ["X-Listener-Fingerprint"] = fingerprint,
    ["Cookie"] = token,
  }
  if addresses > 0 then headers["X-Forwarded-For"] = address(k % addresses) end
  return wrk.format("PUT", "/api/ratings/" .. song.id .. "/vote", headers, body)
end

function response(status, headers, body)
  if status == 200 then ok = ok + 1 end
end

function done(summary, latency, requests)
  local total = 0
  for _, thread in ipairs(threads) do total = total + thread:get("ok") end
  io.write(string.format("WRITES_OK %d\n", total))
end
