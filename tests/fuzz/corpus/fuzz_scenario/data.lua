-- data.lua: requests driven by a CSV file, scenarios/data/users.csv (a header line, then one
-- row per user; quotes, doubled quotes and commas inside quotes as in RFC 4180). The file is
-- read once and shared by every user on every thread:
--
--   people:next()    the next row, cycling; one position shared by all users, so each
--                    row is used in turn
--   people:random()  any row
--   people:row(i)    row i (1-based); #people counts the rows
--
-- Each iteration signs up the next person, reads them back (the e-mail must be theirs),
-- renames them after a random row, and removes them.
--
-- Run:  surge serve --listen 127.0.0.1:8080 &
--       surge run scenarios/data.lua                     (3 users, 15 s)

options = {
	host = "http://127.0.0.1:8080",
	users = 3,
	duration = "15s",
}

wait = between(0.2, 0.8)

local people = surge.csv("data/users.csv") -- relative to this file
assert(#people >= 1 and people:row(1).email ~= nil, "users.csv: needs an email column")

flow = {
	function(u)
		local person = people:next()
		local r = u:post("/api/users", {
			json = { name = person.name, email = person.email },
			headers = { ["X-Request-Id"] = surge.uuid() }, -- one id per request, for the logs
			name = "/api/users [sign up]",
		})
		if not u:check(r.status == 201, "signed up") then
			u:end_iteration() -- nobody to read, rename or remove
		end
		u.user_id, u.email = r:json().id, person.email
		surge.counter("plan " .. person.plan):add() -- how many sign-ups per plan
	end,
	function(u)
		local r = u:get("/api/users/" .. u.user_id, { name = "/api/users/{id}" })
		u:check(r.status == 200 and r:json().email == u.email, "read back their e-mail")
	end,
	function(u)
		local other = people:random()
		local r = u:put("/api/users/" .. u.user_id, {
			json = { name = other.name .. " " .. surge.random(1, 99) },
			name = "/api/users/{id} [rename]",
		})
		u:check(r.status == 200, "renamed")
	end,
	function(u)
		local r = u:delete("/api/users/" .. u.user_id, { name = "/api/users/{id} [remove]" })
		u:check(r.status == 200, "removed")
	end,
}
