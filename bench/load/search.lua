-- wrk script: GET a rotating list of search pages (different queries and pages, so the rendered-results cache
-- mostly misses). Set by the bench: PATHS_FILE (one path per line), NTHREADS. Headers (the session cookie) come
-- from wrk's -H options.
local paths = {}
local counter = 0
local thread_id = 0
local nthreads = 1
local threads = {}

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

function init(args)
  thread_id = id or 0
  nthreads = tonumber(os.getenv("NTHREADS") or "1")
  for line in io.lines(os.getenv("PATHS_FILE")) do
    if #line > 0 then table.insert(paths, line) end
  end
end

function request()
  counter = counter + 1
  local k = counter * nthreads + thread_id
  return wrk.format("GET", paths[(k % #paths) + 1])
end
