options = { host = "http://h:1", model = "open", stages = { {"30s", 10}, {duration = "1m", target = 50} } }
flow = { function(u) u:post("/a", { json = { x = 1 } }) end, function(u) u:sleep(0.1) end }
