-- What bench/scenario-hook.sh measures beside static-weighted.lua: a task that runs about
-- 100,000 Lua instructions before each request, so the instruction hook (every 10,000
-- instructions: the clock, the stop flags, the instruction budget) fires ~10 times a request.
tasks = {
	function(u)
		local x = 0
		for i = 1, 25000 do
			x = x + i % 7
		end
		u:get("/", { name = "after work" })
	end,
}
