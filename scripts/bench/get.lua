-- wrk: GET one of 1,000 existing keys per request (BENCHMARKS.md, server row).
local counter = 0
request = function()
  counter = counter + 1
  return wrk.format("GET", "/memory/bench/key-" .. (counter % 1000))
end
