-- wrk's pipelining, N requests per write, as wrk's own scripts/pipeline.lua does it (that
-- one pipelines three fixed paths): `wrk -s bench/wrk-pipeline.lua URL -- N`. wrk counts
-- the requests in what request() returns and waits for that many answers before it writes
-- again. Used by bench/pipeline-vs-wrk.sh.
init = function(args)
	local n = tonumber(args[1]) or 1
	local copies = {}
	for i = 1, n do
		copies[i] = wrk.format()
	end
	batch = table.concat(copies)
end

request = function()
	return batch
end
