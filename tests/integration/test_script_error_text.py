"""A script error's text is shown, not obeyed: what a Lua error quotes may be what a server
sent (surge.json.decode of a body quotes the bytes near the fault; error(r.body) is all of
it), and the summary prints it on the terminal. Its control bytes come out as \\xNN escapes,
on one line, in the summary and in the document alike."""

import json
import os
import tempfile

from harness import Serve, main, surge

SCENARIO = """
options = { host = "%s", users = 1, requests = 3 }
tasks = { function(u)
    local r = u:get("/health")
    -- the same text a body holding an escape sequence would give
    surge.json.decode("{\\27[2J\\27]0;owned\\7")
end }
"""


def test_a_script_errors_control_bytes_are_escaped():
    with Serve() as srv, tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "esc.lua")
        out = os.path.join(d, "r.json")
        with open(path, "w") as f:
            f.write(SCENARIO % srv.url("/").rstrip("/"))
        p = surge("run", "-t", "1", "--json", out, path, timeout=60)
        with open(out) as f:
            doc = json.load(f)
    shown = p.stdout + p.stderr
    assert "\x1b" not in shown and "\x07" not in shown, repr(shown)
    line = next((l for l in shown.splitlines() if "script err" in l), None)
    assert line and "near '\\x1b'" in line, shown
    names = json.dumps(doc)
    assert "esc.lua:6: json:" in names and "\\u001b" not in names, names


if __name__ == "__main__":
    main([test_a_script_errors_control_bytes_are_escaped])
