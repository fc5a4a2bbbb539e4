-- wrk: PUT a 64-byte value to one of 1,000 keys per request (BENCHMARKS.md, server row).
wrk.method = "PUT"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"value": "' .. string.rep("v", 64) .. '"}'
local counter = 0
request = function()
  counter = counter + 1
  return wrk.format(nil, "/memory/bench/key-" .. (counter % 1000))
end
