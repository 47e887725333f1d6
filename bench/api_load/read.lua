-- Reads: each request asks for one song's counts and the caller's own vote, as the
-- player does on every track change. Songs come from the data file run.py writes.
local songs
local counter = 0

function init(args)
  songs = dofile(args[1])
end

function request()
  counter = counter + 1
  local song = songs[(counter % #songs) + 1]
  local fingerprint = string.format("%032x", counter)
  return wrk.format("GET", "/api/ratings/" .. song.id, {
    ["X-Listener-Fingerprint"] = fingerprint,
  })
end
