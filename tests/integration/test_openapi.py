"""/openapi.json and /apidocs of `surge serve`: the description is valid OpenAPI 3.1 and matches
the routes the router serves, both ways; Swagger UI renders it in headless Chromium with no
network and no console errors (the screenshot is kept in build/test-artifacts/apidocs.png)."""

import json
import os
import re
import shutil
import subprocess
import tempfile

from harness import browser_lock, ROOT, Serve, get_json, http, main, need

METHODS = {"get", "put", "post", "delete", "patch", "options", "head", "trace"}
SCHEMA_TYPES = {"string", "integer", "number", "boolean"}
ARTIFACTS = os.path.join(ROOT, os.environ.get("BUILD", "build"), "test-artifacts")


def resolve(doc, obj):
    """Follows a local $ref (#/components/...) once."""
    ref = obj.get("$ref")
    if not ref:
        return obj
    assert ref.startswith("#/"), ref
    node = doc
    for part in ref[2:].split("/"):
        assert part in node, f"dangling $ref {ref}"
        node = node[part]
    return node


def fill_template(doc, path, op):
    """A concrete path for a templated one: each {name} gets its default or example."""
    def value(m):
        for p in op.get("parameters", []):
            p = resolve(doc, p)
            if p["in"] == "path" and p["name"] == m.group(1):
                schema = p.get("schema", {})
                return str(schema.get("default", (schema.get("examples") or ["200"])[0]))
        raise AssertionError(f"{path}: no path parameter {m.group(1)}")
    return re.sub(r"\{([^}]+)\}", value, path)


def test_openapi_is_3_1_and_well_formed():
    with Serve() as srv:
        doc, hdrs = get_json(srv.url("/openapi.json"))
        assert hdrs["content-type"].startswith("application/json"), hdrs
        assert re.fullmatch(r"3\.1\.\d+", doc["openapi"]), doc["openapi"]
        info, _ = get_json(srv.url("/"))
        assert doc["info"]["title"] and doc["info"]["version"] == info["version"]
        op_ids = set()
        for path, item in doc["paths"].items():
            assert path.startswith("/"), path
            templated = set(re.findall(r"\{([^}]+)\}", path))
            assert item and set(item) <= METHODS, (path, list(item))
            for method, op in item.items():
                where = f"{method.upper()} {path}"
                assert op.get("summary"), where
                assert op["operationId"] not in op_ids, f"{where}: duplicate operationId"
                op_ids.add(op["operationId"])
                assert "200" in op["responses"], where
                for code, resp in op["responses"].items():
                    assert code == "default" or re.fullmatch(r"[1-5](\d\d|XX)", code), where
                    assert resolve(doc, resp)["description"], (where, code)
                seen, in_path = set(), set()
                for p in op.get("parameters", []):
                    p = resolve(doc, p)
                    key = (p["name"], p["in"])
                    assert key not in seen, f"{where}: parameter {key} twice"
                    seen.add(key)
                    assert p["in"] in ("query", "path"), (where, p)
                    assert p["schema"]["type"] in SCHEMA_TYPES, (where, p)
                    if p["in"] == "path":
                        assert p.get("required") is True, (where, p)
                        in_path.add(p["name"])
                assert in_path == templated, f"{where}: path parameters {in_path} vs {templated}"
        try:  # the reference validator, where installed; the checks here stand alone
            from openapi_spec_validator.validation import OpenAPIV31SpecValidator
        except ImportError:
            OpenAPIV31SpecValidator = None
        if OpenAPIV31SpecValidator:
            errors = [e.message for e in OpenAPIV31SpecValidator(doc).iter_errors()]
            assert not errors, errors[:5]
        # every $ref in the document resolves
        refs = re.findall(r'"\$ref": "([^"]+)"', json.dumps(doc))
        assert refs
        for ref in set(refs):
            resolve(doc, {"$ref": ref})


def test_openapi_parameters_have_types_defaults_and_units():
    with Serve() as srv:
        doc, _ = get_json(srv.url("/openapi.json"))
        params = {p["name"]: p for p in doc["paths"]["/api/cpu-intensive"]["get"]["parameters"]
                  if "name" in p}
        assert params["complexity"]["schema"] == {"type": "integer", "default": 30}, params
        slow = {p["name"]: p for p in doc["paths"]["/api/slow"]["get"]["parameters"]
                if "name" in p}
        delay = slow["delay"]["schema"]
        assert delay["type"] == "string" and delay["x-unit"] == "seconds", delay
        assert delay["default"] == "1" and "250ms" in delay["examples"], delay
        for value in ("1", "0.25", "250ms", "2s"):
            assert re.fullmatch(delay["pattern"], value), value
        # the endpoint's own delay wins over the common one, which the others reference
        refs = [p.get("$ref") for p in doc["paths"]["/api/slow"]["get"]["parameters"]]
        assert "#/components/parameters/delay" not in refs, refs
        cpu_refs = [p.get("$ref") for p in doc["paths"]["/api/cpu"]["get"]["parameters"]]
        for name in ("delay", "status", "size", "cpu_ms"):
            assert f"#/components/parameters/{name}" in cpu_refs, cpu_refs
        common = doc["components"]["parameters"]
        assert "--max-delay" in common["delay"]["description"], common["delay"]
        assert common["size"]["schema"]["x-unit"] == "bytes"
        # probes take no common parameters; memory can answer 507, dangerous routes 403
        health = doc["paths"]["/health"]["get"]
        assert not any("$ref" in p for p in health.get("parameters", [])), health
        leak = doc["paths"]["/api/memory-leak"]["get"]["responses"]
        assert "507" in leak and "403" in leak, leak
        assert "503" in doc["paths"]["/ready"]["get"]["responses"]
        admin = doc["paths"]["/admin/chaos"]["post"]
        assert "401" in admin["responses"] and admin["security"], admin


def test_openapi_matches_the_router():
    """Both ways: every endpoint `GET /` lists is described, and every described path and
    method is routed. A method no route has (SURGECHECK) makes the router answer 405 with
    Allow for a known path and 404 for an unknown one, without running any handler."""
    with Serve() as srv:
        doc, _ = get_json(srv.url("/openapi.json"))
        info, _ = get_json(srv.url("/"))
        for ep in info["endpoints"]:
            item = doc["paths"].get(ep["path"])
            assert item is not None, f"{ep['path']} is routed but not described"
            if ep["method"] != "ANY":
                assert ep["method"].lower() in item, f"{ep['method']} {ep['path']} not described"
        assert {"/openapi.json", "/apidocs", "/apidocs/{file}"} <= set(doc["paths"])
        for path, item in doc["paths"].items():
            concrete = fill_template(doc, path, next(iter(item.values())))
            status, hdrs, body = http("SURGECHECK", srv.url(concrete))
            assert status != 404, f"{path} ({concrete}) is described but not routed: {body!r}"
            if status == 405:
                allowed = {m.strip().lower() for m in hdrs["allow"].split(",")}
                missing = set(item) - allowed
                assert not missing, f"{path}: described {sorted(missing)}, router allows {allowed}"
        status, _, _ = http("SURGECHECK", srv.url("/surely/not/a/route"))
        assert status == 404


def test_apidocs_assets_are_embedded():
    with Serve() as srv:
        for path in ("/apidocs", "/apidocs/"):
            status, hdrs, page = http("GET", srv.url(path))
            assert status == 200 and hdrs["content-type"].startswith("text/html"), (path, hdrs)
            assert b"/openapi.json" in page and b"SwaggerUIBundle" in page, page[:300]
        assets = re.findall(rb'(?:href|src)="(/apidocs/[^"]+)"', page)
        assert len(assets) >= 2, page
        for url in assets:
            status, hdrs, body = http("GET", srv.url(url.decode()))
            assert status == 200 and len(body) > 100, (url, status)
            assert "max-age=31536000" in hdrs["cache-control"], hdrs
            ext = url.split(b"?")[0].rsplit(b".", 1)[1]
            want = {b"css": "text/css", b"js": "text/javascript", b"png": "image/png"}[ext]
            assert hdrs["content-type"].startswith(want), (url, hdrs)
        status, hdrs, body = http("GET", srv.url("/apidocs/LICENSE"))
        assert status == 200 and b"Apache License" in body, status
        status, _, _ = http("GET", srv.url("/apidocs/nothing.js"))
        assert status == 404
    # the assets do not count against --max-size, which bounds what requests ask for
    with Serve("--max-size", "1k") as srv:
        status, _, body = http("GET", srv.url("/apidocs/swagger-ui-bundle.js"))
        assert status == 200 and len(body) > 100000, (status, len(body))


def chromium(browser, profile, *args, timeout=180):  # a start takes a minute on a busy host
    """Headless Chromium with no network beyond loopback: every other host fails to resolve."""
    with browser_lock():
        return subprocess.run(
            [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
             "--no-first-run", "--disable-background-networking", "--disable-component-update",
             "--disable-sync", f"--user-data-dir={profile}",
             "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
             "--enable-logging=stderr", "--v=0", "--window-size=1280,2000",
             "--virtual-time-budget=5000", *args],
            capture_output=True, text=True, timeout=timeout)


def console_errors(stderr):
    """Chromium logs every console message as INFO:CONSOLE; these are the errors among them
    (uncaught exceptions, failed loads, console.error/warn)."""
    lines = [l for l in stderr.splitlines() if ":CONSOLE" in l]
    return [l for l in lines if re.search(r"error|uncaught|failed|warn|refused", l, re.I)], lines


def test_apidocs_renders_in_headless_chromium():
    browser = need("chromium")
    profile = tempfile.mkdtemp(prefix="surge-chromium-")
    try:
        with Serve() as srv:
            url = srv.url("/apidocs")
            doc, _ = get_json(srv.url("/openapi.json"))
            p = chromium(browser, profile, "--dump-dom", url)
            assert p.returncode == 0, p.stderr[-2000:]
            errors, logged = console_errors(p.stderr)
            assert not errors, "console errors:\n" + "\n".join(errors)
            dom = p.stdout
            blocks = re.findall(r'class="opblock opblock-(get|post|put|delete|patch)', dom)
            described = sum(len(item) for item in doc["paths"].values())
            assert len(blocks) == described, f"{len(blocks)} operations shown, {described} described"
            for path in ("/api/cpu", "/api/status/{code}", "/health", "/openapi.json"):
                assert f'data-path="{path}"' in dom, f"{path} not rendered"

            os.makedirs(ARTIFACTS, exist_ok=True)
            shot = os.path.join(ARTIFACTS, "apidocs.png")
            if os.path.exists(shot):
                os.unlink(shot)
            p = chromium(browser, profile + "-shot", f"--screenshot={shot}", url)
            assert p.returncode == 0 and os.path.getsize(shot) > 20000, p.stderr[-2000:]
            errors, _ = console_errors(p.stderr)
            assert not errors, "console errors:\n" + "\n".join(errors)
            with open(shot, "rb") as f:
                assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    finally:
        shutil.rmtree(profile, ignore_errors=True)
        shutil.rmtree(profile + "-shot", ignore_errors=True)


if __name__ == "__main__":
    main([test_openapi_is_3_1_and_well_formed, test_openapi_parameters_have_types_defaults_and_units,
          test_openapi_matches_the_router, test_apidocs_assets_are_embedded,
          test_apidocs_renders_in_headless_chromium])
