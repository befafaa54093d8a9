users = {
	Shopper = { weight = 3, wait = between(1, 3), on_start = function(u) u.n = 0 end,
	            tasks = { task(2, function(u) u:get("/a", { name = "a", timeout = 1 }) end) } },
	Admin = { weight = 1, wait = constant(2), flow = { function(u) u:delete("/x") end } },
}
