-- Writes: every request is a new listener (distinct fingerprint) voting on one of the
-- songs, so each 200 must add exactly one vote; run.py checks that afterwards.
local songs
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
end

function request()
  counter = counter + 1
  local song = songs[(counter % #songs) + 1]
  local fingerprint = string.format("%016x%016x", thread_id, counter)
  local value = (counter % 3 == 0) and "down" or "up"
  local body = string.format('{"value":"%s","artist":"%s","title":"%s"}', value, song.artist, song.title)
  return wrk.format("PUT", "/api/ratings/" .. song.id .. "/vote", {
    ["Content-Type"] = "application/json",
    ["X-Listener-Fingerprint"] = fingerprint,
  }, body)
end

function response(status, headers, body)
  if status == 200 then ok = ok + 1 end
end

function done(summary, latency, requests)
  local total = 0
  for _, thread in ipairs(threads) do total = total + thread:get("ok") end
  io.write(string.format("WRITES_OK %d\n", total))
end
