wiat = 1
tasks = { function(u) end }
