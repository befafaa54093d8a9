-- login-flow.lua: log in -> take a token from the response -> send it on the next calls,
-- as a flow (steps in order, every iteration).
--
-- Honest note: surge serve has no login endpoint and does not check tokens on /api routes.
-- So "logging in" here is creating a user, and the token is made of what the server
-- answered: the new user's id (from the JSON body) and the trace id the server gave the
-- response (from its traceparent header). What this really shows is correlation, which is
-- all a login flow needs from the tool: read a value from one response, send it in the
-- next. The next calls prove the server received it: the user's id must come back, and the
-- server must continue the trace whose id we sent back to it.
-- Against a real API, change the paths and read r:json().access_token instead.
--
-- The one place surge serve checks a bearer token is /admin/...: start it with
-- `surge serve --admin-token s3cret` and run with ADMIN_TOKEN=s3cret, and the admin step
-- below is a real authorized call (without the token it gets 401).
--
-- Run:  surge serve --listen 127.0.0.1:8080 &
--       surge run scenarios/login-flow.lua               (3 users, 15 s)

options = {
	host = "http://127.0.0.1:8080",
	users = 3,
	duration = "15s",
}

wait = between(0.5, 1.5)

local admin_token = os.getenv("ADMIN_TOKEN")

-- "00-<trace id>-<span id>-01" -> trace id
local function trace_id(r)
	return (r.headers["traceparent"] or ""):match("^00%-(%x+)%-%x+%-%x+$")
end

-- a new span of our own in the session's trace: W3C traceparent
local function traceparent(trace)
	return "00-" .. trace .. "-" .. surge.uuid():gsub("-", ""):sub(1, 16) .. "-01"
end

flow = {
	-- 1. log in: the answer carries what the token is made of
	function(u)
		local r = u:post("/api/users", {
			json = { name = "member " .. u.id, email = "member" .. u.id .. "@example.com" },
			name = "login",
		})
		if not u:check(r.status == 201, "login accepted") then
			u:end_iteration() -- no token: the steps below would only fail
		end
		u.user_id = r:json().id
		u.trace = trace_id(r)
		if not u:check(u.trace ~= nil, "session trace given") then
			u:end_iteration()
		end
		u.token = u.user_id .. "." .. u.trace
	end,

	-- 2. an authorized call: the token as a bearer header, the trace continued
	function(u)
		local r = u:get("/api/users/" .. u.user_id, {
			headers = { Authorization = "Bearer " .. u.token, traceparent = traceparent(u.trace) },
			name = "/api/users/{id} [authorized]",
		})
		u:check(r.status == 200 and r:json().id == u.user_id, "own profile read")
		u:check(trace_id(r) == u.trace, "server continued the session's trace")
	end,

	-- 3. an admin call with a bearer token (checked when surge serve has --admin-token)
	function(u)
		local headers = admin_token and { Authorization = "Bearer " .. admin_token } or nil
		local r = u:get("/admin/chaos", { headers = headers, name = "/admin/chaos [authorized]" })
		u:check(r.status == 200, "admin call authorized")
	end,

	-- 4. log out: the session's user goes
	function(u)
		local r = u:delete("/api/users/" .. u.user_id, {
			headers = { Authorization = "Bearer " .. u.token },
			name = "logout",
		})
		u:check(r.status == 200, "logged out")
	end,
}
