local people = surge.csv("d.csv")
local a, b, c = people:next(), people:random(), people:row(#people)
assert(a.name and b.email and c.name)
local ok = pcall(people.row, people, 0)
math.random = function(n) return n + 1 end
pcall(people.random, people)
tasks = { function(u) u:get("/" .. people:next().name) end }
