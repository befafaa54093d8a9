options = { rate = -1, host = 7 }
tasks = { function(u) u:get(1) end }
