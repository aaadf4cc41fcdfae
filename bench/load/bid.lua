-- wrk script: POST bids on one lot, each connection with its own bidder token, amounts rising across all threads.
-- Set by the bench: LISTING, BASE (first amount), STEP (the increment), TOKENS (comma-separated).
local counter = 0
local thread_id = 0
local nthreads = 1
local tokens = {}
local threads = {}

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

function init(args)
  thread_id = id or 0
  nthreads = tonumber(os.getenv("NTHREADS") or "1")
  for t in string.gmatch(os.getenv("TOKENS") or "", "[^,]+") do table.insert(tokens, t) end
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
end

function request()
  counter = counter + 1
  local k = counter * nthreads + thread_id
  local amount = tonumber(os.getenv("BASE")) + k * tonumber(os.getenv("STEP"))
  local token = tokens[((k - 1) % #tokens) + 1]
  local headers = { ["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. token }
  return wrk.format("POST", "/api/v1/auctions/" .. os.getenv("LISTING") .. "/bids", headers,
                    string.format('{"amount": "%d.00"}', amount))
end
