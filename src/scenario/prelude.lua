-- prelude: the Lua half of surge scenarios, run in every VM before the scenario file.
-- It defines the API a scenario sees (surge.*, constant/between/pacing, task, u:get ...) and
-- the loop every user runs. The C half (scenario_api.c) is reached through _surge_c; the
-- engine talks to a user only through coroutine.yield: ("request", req) answered with the
-- response, ("sleep", seconds), and ("done") at the end of each iteration.
local C = _surge_c
_surge_c = nil
local yield = coroutine.yield
local traceback = debug.traceback
local raw_xpcall, raw_pcall = xpcall, pcall

-- Raised in a user's code, never errors: the run has ended (straight to on_stop), the user
-- must stop at once (its grace is up, or a second Ctrl-C: not even on_stop), or the user
-- ended its iteration (u:end_iteration()). The instruction hook raises the first two too.
local STOP = setmetatable(C.stop_order, { __tostring = function() return "the run ended" end })
local HALT = setmetatable(C.halt_order, { __tostring = function() return "the run was stopped" end })
local END_ITERATION = setmetatable({}, { __tostring = function() return "iteration ended" end })
local function signal(e)
	return e == STOP or e == HALT or e == END_ITERATION
end

-- A runaway loop, a heap over its limit or a signal stays what it is inside the script's own
-- pcall: these re-raise it.
local function rethrow(ok, ...)
	if not ok and (signal((...)) or C.runaway()) then
		error((...), 0)
	end
	return ok, ...
end

function pcall(f, ...)
	return rethrow(raw_pcall(f, ...))
end

function xpcall(f, handler)
	return rethrow(raw_xpcall(f, function(e)
		if signal(e) then
			return e
		end
		return handler(e)
	end))
end

local leaving = setmetatable({}, { __mode = "k" }) -- users whose on_stop runs

-- After a response or a sleep: a user still in its iteration when the run ended leaves.
local function interrupt(u)
	if not leaving[u] and C.stopping() then
		error(STOP, 0)
	end
end
local random = math.random
local floor = math.floor
local type, pairs, ipairs, next, setmetatable, rawset = type, pairs, ipairs, next, setmetatable, rawset
local tostring, tonumber = tostring, tonumber
local concat, sort = table.concat, table.sort

-- "did you mean": the known name a misspelt one is nearest to (optimal string alignment
-- distance, case ignored: 1 for short names, 2 from six letters), or nil
local function nearest(name, known)
	if type(name) ~= "string" then
		return nil
	end
	local a = name:lower()
	local best, best_d
	for _, k in ipairs(known) do
		local b = k:lower()
		local d = {}
		for i = 0, #a do
			d[i] = { [0] = i }
		end
		for j = 1, #b do
			d[0][j] = j
		end
		for i = 1, #a do
			for j = 1, #b do
				local cost = a:byte(i) == b:byte(j) and 0 or 1
				local v = math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
				if i > 1 and j > 1 and a:byte(i) == b:byte(j - 1) and a:byte(i - 1) == b:byte(j) then
					v = math.min(v, d[i - 2][j - 2] + 1)
				end
				d[i][j] = v
			end
		end
		local dist = d[#a][#b]
		if dist <= (#k >= 6 and 2 or 1) and (not best_d or dist < best_d) then
			best, best_d = k, dist
		end
	end
	return best
end

surge = { null = C.null }

-- ---- think time ----

-- seconds of a think time: a finite number >= 0, else an error naming the call at `level`
local function seconds_arg(call, v, level)
	if type(v) ~= "number" or v ~= v or v < 0 or v == math.huge then
		error(call .. ": seconds must be a number >= 0, got " .. tostring(v), level + 1)
	end
	return v
end

function constant(seconds)
	return { kind = "constant", a = seconds_arg("constant(" .. tostring(seconds) .. ")", seconds, 2) }
end

function between(lo, hi)
	local call = "between(" .. tostring(lo) .. ", " .. tostring(hi) .. ")"
	seconds_arg(call, lo, 2)
	seconds_arg(call, hi, 2)
	if lo > hi then
		error(call .. ": the lower bound is above the upper one", 2)
	end
	return { kind = "between", a = lo, b = hi }
end

-- pacing: each iteration starts `seconds` after the previous one began (k6's
-- constant-arrival feel for one user; Locust's constant_pacing)
function pacing(seconds)
	return { kind = "pacing", a = seconds_arg("pacing(" .. tostring(seconds) .. ")", seconds, 2) }
end

-- task(weight, fn) or task(fn): a weighted task for `tasks = { ... }`
function task(weight, fn)
	if type(weight) == "function" then
		weight, fn = 1, weight
	end
	return { weight = weight, run = fn }
end

surge.constant, surge.between, surge.pacing, surge.task = constant, between, pacing, task

-- ---- data ----

function surge.uuid()
	return C.uuid()
end

-- surge.random(n): 1..n; surge.random(lo, hi): lo..hi (integers); surge.random(): [0, 1)
function surge.random(lo, hi)
	if lo == nil then
		return random()
	elseif hi == nil then
		return random(lo)
	end
	return random(lo, hi)
end

function surge.pick(list)
	return list[random(#list)]
end

-- surge.csv(path): rows of a CSV file with a header line, loaded once and shared by every
-- user on every thread. feeder:next() cycles through the rows (shared position),
-- feeder:random() picks one, feeder:row(i) reads one, #feeder counts them.
function surge.csv(path)
	return C.csv(path)
end

-- surge.json.array(t): t (or a new table) encodes as a JSON array even when empty; decoded
-- JSON arrays carry the same mark, so [] round-trips
local JSON_ARRAY = C.json_array_meta
surge.json = {
	encode = C.json_encode,
	decode = C.json_decode,
	array = function(t)
		return setmetatable(t or {}, JSON_ARRAY)
	end,
}

-- seconds on a monotonic clock (for durations inside a task)
surge.now = C.now

-- ---- custom metrics ----

local Counter = {}
Counter.__index = Counter
function Counter:add(n)
	C.counter(self.name, n or 1)
end

local Trend = {}
Trend.__index = Trend
function Trend:add(v)
	C.trend(self.name, v)
end

function surge.counter(name)
	return setmetatable({ name = name }, Counter)
end

function surge.trend(name)
	return setmetatable({ name = name }, Trend)
end

-- ---- requests and responses ----

local Response = {}
local response_methods = {}

function response_methods:json()
	local j = rawget(self, "_json")
	if j == nil then
		j = C.json_decode(self.body)
		rawset(self, "_json", j)
	end
	return j
end

-- headers are parsed on first use, names lowercased
Response.__index = function(r, key)
	if key == "headers" then
		local h = {}
		for name, value in r._raw:gmatch("([^%z]*)%z([^%z]*)%z") do
			local k = name:lower()
			h[k] = h[k] and (h[k] .. ", " .. value) or value
		end
		rawset(r, "headers", h)
		return h
	end
	return response_methods[key]
end

local function urlencode_query(q)
	local keys = {}
	for k in pairs(q) do
		keys[#keys + 1] = tostring(k)
	end
	sort(keys)
	local parts = {}
	for i, k in ipairs(keys) do
		local v = q[k]
		if v == nil then
			v = q[tonumber(k)]
		end
		parts[i] = C.urlencode(k) .. "=" .. C.urlencode(tostring(v))
	end
	return concat(parts, "&")
end

-- Requests whose bytes never change are serialized once: u:get(path) and u:get(path,
-- {name = ...}) come from this cache, so a static task costs what `surge run URL` costs.
-- Anything with headers, query, json, body or expect is built per call. Two generations of
-- CACHE_MAX: a request used again within a generation's lifetime stays, while paths used
-- once (an id in the path: "/api/users/" .. id) leave with their generation. A single table
-- of 10,000 kept the first 10,000 such paths for the whole run, each a userdata and a
-- malloc'd request, and the long run grew until it was full (docs/testing.md, Long runs).
local cache, old, cached = {}, {}, 0
local CACHE_MAX = 256

local REQUEST_OPTIONS = { headers = true, query = true, json = true, body = true, name = true,
	timeout = true, expect = true }
local REQUEST_OPTION_LIST = { "headers", "query", "json", "body", "name", "timeout", "expect" }

local function static_only(opts)
	for k in pairs(opts) do
		if k ~= "name" and k ~= "timeout" then
			return false
		end
	end
	return true
end

local function is_status(v)
	return type(v) == "number" and v >= 100 and v <= 599 and v == floor(v)
end

local function all_statuses(list)
	for k, v in pairs(list) do
		if type(k) ~= "number" or not is_status(v) then
			return false
		end
	end
	return true
end

-- call: what the script called ("u:get"), named in its errors; errors point at its caller
local function prepare(call, method, path, opts)
	if type(path) ~= "string" then
		error(call .. ": the path must be a string, got " .. type(path), 3)
	end
	if opts ~= nil and type(opts) ~= "table" then
		error(call .. ": request options must be a table, got " .. type(opts), 3)
	end
	if opts ~= nil then
		local t = opts.timeout
		if t ~= nil and (type(t) ~= "number" or not (t > 0) or t == math.huge) then
			error(call .. ": timeout must be a number of seconds above 0, got " .. tostring(t), 3)
		end
		if opts.name ~= nil and type(opts.name) ~= "string" then
			error(call .. ": name must be a string, got " .. type(opts.name), 3)
		end
		local e = opts.expect
		if e ~= nil and not (is_status(e) or type(e) == "table" and #e > 0 and all_statuses(e)) then
			error(call .. ": expect: a status from 100 to 599, or a list of them", 3)
		end
	end
	if opts == nil or static_only(opts) then
		local name = opts and opts.name or path
		local timeout = opts and opts.timeout or 0
		local key = method .. " " .. path .. "\0" .. name .. "\0" .. timeout
		local req = cache[key]
		if not req then
			req = old[key] or C.prepare(method, path, name, nil, nil, nil, timeout)
			if cached == CACHE_MAX then
				old, cache, cached = cache, {}, 0
			end
			cache[key] = req
			cached = cached + 1
		end
		return req
	end
	for k in pairs(opts) do
		if not REQUEST_OPTIONS[k] then
			local guess = nearest(k, REQUEST_OPTION_LIST)
			error(call .. ": unknown request option '" .. tostring(k) .. "'"
				.. (guess and (" (did you mean '" .. guess .. "'?)") or "")
				.. " (known: headers, query, json, body, name, timeout, expect)", 3)
		end
	end
	local target = path
	if opts.query ~= nil then
		target = target .. (path:find("?", 1, true) and "&" or "?") .. urlencode_query(opts.query)
	end
	local body, ctype = opts.body, nil
	if opts.json ~= nil then
		body, ctype = C.json_encode(opts.json), "application/json"
	elseif body ~= nil and type(body) ~= "string" then
		error(call .. ": body must be a string (use json = ... for tables)", 3)
	end
	return C.prepare(method, target, opts.name or path, opts.headers, body, ctype, opts.timeout or 0,
		opts.expect)
end

-- surge.request(method, path, opts): a request prepared once, sent with u:send(req)
function surge.request(method, path, opts)
	return prepare("surge.request", method, path, opts)
end

local User = {}
User.__index = User

function User:send(req)
	local status, body, raw, err, ms, ok = yield("request", req)
	interrupt(self)
	return setmetatable({
		status = status,
		body = body,
		_raw = raw,
		error = err,
		time_ms = ms,
		ok = ok,
	}, Response)
end

function User:request(method, path, opts)
	return self:send(prepare("u:request", method, path, opts))
end

function User:get(path, opts) return self:send(prepare("u:get", "GET", path, opts)) end
function User:post(path, opts) return self:send(prepare("u:post", "POST", path, opts)) end
function User:put(path, opts) return self:send(prepare("u:put", "PUT", path, opts)) end
function User:patch(path, opts) return self:send(prepare("u:patch", "PATCH", path, opts)) end
function User:delete(path, opts) return self:send(prepare("u:delete", "DELETE", path, opts)) end
function User:head(path, opts) return self:send(prepare("u:head", "HEAD", path, opts)) end

-- u:check(cond, name): counted by name; a failed check marks the last response failed
function User:check(cond, name)
	C.check(cond and true or false, name or "check")
	return cond
end

-- u:end_iteration(): the rest of this iteration (the flow's next steps) does not run; the
-- think time does, then the next iteration
function User:end_iteration()
	error(END_ITERATION, 0)
end

function User:sleep(seconds)
	if type(seconds) ~= "number" or not (seconds >= 0) or seconds == math.huge then
		error("u:sleep: seconds must be a number >= 0, got " .. tostring(seconds), 2)
	end
	yield("sleep", seconds)
	interrupt(self)
end

-- ---- user classes ----

local classes -- sorted by name: { name, weight, wait, tasks = {{weight, run, name}}, flow, total }

local function class_error(cname, msg)
	error("user class '" .. cname .. "': " .. msg, 0)
end

-- "unknown key 'wiat' (did you mean 'wait'?; known: ...)"
local function unknown_key(k, known)
	local guess = nearest(k, known)
	local shown = type(k) == "string" and ("'" .. k .. "'") or ("[" .. tostring(k) .. "]")
	return "unknown key " .. shown .. (guess and (" (did you mean '" .. guess .. "'?)") or "")
		.. "; known: " .. concat(known, ", ")
end

local function wait_spec(cname, w)
	if w == nil then
		return nil
	end
	if type(w) == "number" then
		w = { kind = "constant", a = w }
	end
	local function seconds(v)
		return type(v) == "number" and v >= 0 and v ~= math.huge
	end
	if type(w) ~= "table" or not ((w.kind == "constant" or w.kind == "pacing") and seconds(w.a)
			or w.kind == "between" and seconds(w.a) and seconds(w.b) and w.a <= w.b) then
		class_error(cname, "wait must be seconds >= 0, constant(s), between(a, b) or pacing(s)")
	end
	return w
end

local TASK_KEYS = { "weight", "run", "name" }
local TASK_KEY_SET = { weight = true, run = true, name = true, [1] = true }

local function task_list(cname, tasks)
	local list, total = {}, 0
	local function add(t, tname)
		local item
		local label = tname and ("task '" .. tname .. "'") or ("task " .. (#list + 1))
		if type(t) == "function" then
			item = { weight = 1, run = t, name = tname }
		elseif type(t) == "table" and type(t.run or t[1]) == "function" then
			for k in pairs(t) do
				if not TASK_KEY_SET[k] then
					class_error(cname, label .. ": " .. unknown_key(k, TASK_KEYS))
				end
			end
			item = { weight = t.weight or 1, run = t.run or t[1], name = t.name or tname }
		else
			class_error(cname, label .. " is not a function or task(weight, fn)")
		end
		if type(item.weight) ~= "number" or not (item.weight > 0) or item.weight == math.huge then
			class_error(cname, label .. ": its weight must be a positive number")
		end
		item.label = item.name and ("task '" .. item.name .. "'") or label
		total = total + item.weight
		list[#list + 1] = item
	end
	for _, t in ipairs(tasks) do
		add(t)
	end
	local named = {}
	for k in pairs(tasks) do
		if type(k) == "string" then
			named[#named + 1] = k
		elseif type(k) ~= "number" or k ~= floor(k) or k < 1 or k > #tasks then
			class_error(cname, "tasks: key " .. tostring(k) .. " is neither a name nor a place in the list")
		end
	end
	sort(named)
	for _, k in ipairs(named) do
		add(tasks[k], k)
	end
	return list, total
end

local CLASS_KEYS = { "weight", "wait", "tasks", "flow", "on_start", "on_stop" }
local CLASS_KEY_SET = { weight = true, wait = true, tasks = true, flow = true, on_start = true,
	on_stop = true }

local function make_class(cname, def)
	if type(def) ~= "table" then
		class_error(cname, "must be a table")
	end
	for k in pairs(def) do
		if not CLASS_KEY_SET[k] then
			class_error(cname, unknown_key(k, CLASS_KEYS))
		end
	end
	local c = {
		name = cname,
		weight = def.weight or 1,
		wait = wait_spec(cname, def.wait),
		on_start = def.on_start,
		on_stop = def.on_stop,
	}
	if type(c.weight) ~= "number" or not (c.weight > 0) or c.weight == math.huge then
		class_error(cname, "weight must be a positive number")
	end
	for _, k in ipairs({ "on_start", "on_stop" }) do
		if c[k] ~= nil and type(c[k]) ~= "function" then
			class_error(cname, k .. " must be a function, got " .. type(c[k]))
		end
	end
	if def.flow ~= nil and def.tasks ~= nil then
		class_error(cname, "both tasks and flow: give one (tasks picks one per iteration, "
			.. "flow runs every step in order)")
	end
	if def.flow ~= nil then
		if type(def.flow) ~= "table" or #def.flow == 0 then
			class_error(cname, "flow must be a list of functions")
		end
		for k in pairs(def.flow) do
			if type(k) ~= "number" or k ~= floor(k) or k < 1 or k > #def.flow then
				class_error(cname, "flow: key " .. tostring(k) .. " is not a step (a flow is a list)")
			end
		end
		for i, f in ipairs(def.flow) do
			if type(f) ~= "function" then
				class_error(cname, "flow step " .. i .. " is not a function")
			end
		end
		c.flow = def.flow
	elseif def.tasks ~= nil then
		if type(def.tasks) ~= "table" then
			class_error(cname, "tasks must be a table")
		end
		c.tasks, c.total = task_list(cname, def.tasks)
	end
	if not c.flow and (not c.tasks or #c.tasks == 0) then
		class_error(cname, "no tasks (give tasks = { ... } or flow = { ... })")
	end
	-- what names each function in an error that has no line of its own (built once)
	local of = " of user class '" .. cname .. "'"
	c.start_what, c.stop_what, c.step_what = "on_start" .. of, "on_stop" .. of, {}
	for i = 1, c.flow and #c.flow or 0 do
		c.step_what[i] = "flow step " .. i .. of
	end
	for _, t in ipairs(c.tasks or {}) do
		t.what = t.label .. of
	end
	return c
end

-- The file's own globals that look like a misspelt scenario key (`wiat`, `on_strat`,
-- `Tasks`): an error, since the key they meant would silently be missing.
local FILE_KEYS = { "options", "users", "tasks", "flow", "wait", "on_start", "on_stop" }
local FILE_KEY_SET = { options = true, users = true, tasks = true, flow = true, wait = true,
	on_start = true, on_stop = true }
local prelude_globals -- names the prelude defines (filled at its end)

local function check_file_globals()
	local odd = {}
	for k in pairs(_G) do
		if type(k) == "string" and not FILE_KEY_SET[k] and not prelude_globals[k] and nearest(k, FILE_KEYS) then
			odd[#odd + 1] = k
		end
	end
	if #odd > 0 then
		sort(odd)
		error("global '" .. odd[1] .. "' is not a scenario key: did you mean '" .. nearest(odd[1], FILE_KEYS)
			.. "'? (if it is a name of your own, make it local or rename it)", 0)
	end
	if users ~= nil then
		for _, k in ipairs({ "tasks", "flow", "wait", "on_start", "on_stop" }) do
			if _G[k] ~= nil then
				error("both users and a file-level " .. k .. ": with users = { ... }, " .. k
					.. " belongs inside a class (the file-level one would be ignored)", 0)
			end
		end
	end
end

-- Called by C once the scenario file has run: the classes it declares, checked.
function _surge_classes()
	if classes then
		return #classes
	end
	classes = {}
	check_file_globals()
	if users ~= nil then
		if type(users) ~= "table" then
			error("users must be a table of user classes", 0)
		end
		local names = {}
		for k in pairs(users) do
			names[#names + 1] = k
		end
		sort(names, function(a, b) return tostring(a) < tostring(b) end)
		for _, k in ipairs(names) do
			classes[#classes + 1] = make_class(tostring(k), users[k])
		end
	elseif tasks ~= nil or flow ~= nil then
		classes[1] = make_class("user", { tasks = tasks, flow = flow, wait = wait, on_start = on_start, on_stop = on_stop })
	end
	if #classes == 0 then
		error("no user classes: define users = { Name = { tasks = {...} } } or tasks = { ... }", 0)
	end
	return #classes
end

-- Users are given classes by smooth weighted round-robin over their global number, so any
-- number of users splits by the weights (rounded to whole numbers) as evenly as it can, the
-- same way every run. A weight of 0 (set for the run, never the file's) leaves its class out.
local cycle

local function class_for(id)
	if not cycle then
		cycle = {}
		local weights, current, total = {}, {}, 0
		for i, c in ipairs(classes) do
			weights[i] = c.weight > 0 and math.max(1, floor(c.weight + 0.5)) or 0
			current[i] = 0
			total = total + weights[i]
		end
		for n = 1, math.min(total, 100000) do
			local pick
			for i = 1, #classes do
				if weights[i] > 0 then
					current[i] = current[i] + weights[i]
					if not pick or current[i] > current[pick] then
						pick = i
					end
				end
			end
			current[pick] = current[pick] - total
			cycle[n] = classes[pick]
		end
	end
	return cycle[id % #cycle + 1]
end

-- Called by C, after _surge_classes, when the run's weights differ from the file's (the live
-- UI's Start): one weight per class in their order (by name), checked by C (finite, >= 0, one
-- at least above 0). Every VM of the run gets the same list, so users are dealt the same way.
function _surge_set_weights(list)
	if #list ~= #classes then
		error("the file declares " .. #classes .. " user classes in this VM, " .. #list
			.. " when it was loaded", 0)
	end
	for i, c in ipairs(classes) do
		c.weight = list[i]
	end
	cycle = nil
end

-- The class user `id` is dealt, by name (for the tests of the deal).
function _surge_class_of(id)
	return class_for(id).name
end

-- The classes in their order, { {name, weight}, ... } (read once at load: scenario_classes).
function _surge_class_list()
	local list = {}
	for i, c in ipairs(classes) do
		list[i] = { c.name, c.weight }
	end
	return list
end

local function pick_task(c)
	if #c.tasks == 1 then
		return c.tasks[1]
	end
	local x = random() * c.total
	for _, t in ipairs(c.tasks) do
		x = x - t.weight
		if x < 0 then
			return t
		end
	end
	return c.tasks[#c.tasks]
end

-- Runs one of the user's functions; a script error is counted (what names the function, for
-- errors with no line of their own: a heap over its limit) and absorbed. HALT goes on up:
-- the user ends now.
local function run_safely(fn, u, what)
	local ok, err = raw_xpcall(fn, traceback, u)
	if not ok then
		if err == HALT then
			error(HALT, 0)
		end
		if not signal(err) then
			C.script_error(err, what, fn)
		end
	end
	return ok
end
local function think(u, w, started)
	if not w then
		return
	end
	local s
	if w.kind == "constant" then
		s = w.a
	elseif w.kind == "between" then
		s = w.a + random() * (w.b - w.a)
	else
		s = w.a - (C.now() - started)
	end
	if s > 0 then
		yield("sleep", s)
	end
end

-- The life of one user: on_start, then iterations until the engine says leave (ramping
-- down) or the run ends, then on_stop. In the open model an arrival starts each iteration
-- and there is no think time. When the run ends, a user's current iteration stops at its
-- next response or sleep (the think time too) and on_stop runs.
function _surge_user(id, open_model)
	local c = class_for(id)
	local u = setmetatable({ id = id, class = c.name, iteration = 0 }, User)
	if c.on_start then
		run_safely(c.on_start, u, c.start_what)
	end
	while not C.stopping() do
		local started = C.now()
		u.iteration = u.iteration + 1
		if c.flow then
			for i, step in ipairs(c.flow) do
				if not run_safely(step, u, c.step_what[i]) then
					break
				end
			end
		else
			local t = pick_task(c)
			run_safely(t.run, u, t.what)
		end
		if not open_model and not C.stopping() then
			think(u, c.wait, started)
		end
		if C.stopping() or yield("done") == "leave" then
			break
		end
	end
	leaving[u] = true
	-- false when there is no time left to leave (no grace, or a second Ctrl-C)
	if C.leave() and c.on_stop then
		run_safely(c.on_stop, u, c.stop_what)
	end
end

-- every global so far is the prelude's: the file's own are checked against scenario keys
prelude_globals = {}
for k in pairs(_G) do
	prelude_globals[k] = true
end
