"""The Kubernetes manifests (deploy/k8s), offline: every overlay rendered by `kubectl kustomize`,
validated strictly against the Kubernetes and prometheus-operator schemas and checked against
the policies users otherwise learn in production (tests/k8s/check.mjs); every broken fixture
under tests/k8s/broken must be rejected by the rule it is named after. The rendered
configuration and commands run for real: the target, its downstream and the generator Job's
`surge run` start from the manifests' own args and environment on loopback. And
deploy/minikube.sh --dry-run prints the commands it would run.

kubectl is not a Debian package (Debian's kubernetes-client is 1.20, whose kustomize is too
old), so where it is missing these tests SKIP, naming it - in CI too."""

import glob
import hashlib
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile

import yaml

sys.path.insert(0, os.path.dirname(__file__))
from harness import ROOT, SURGE, Serve, Skip, http, main, need, surge  # noqa: E402

K8S = os.path.join(ROOT, "deploy", "k8s")
CHECKS = os.path.join(ROOT, "tests", "k8s")
BUILD = os.path.join(ROOT, os.environ.get("BUILD", "build"))
TOOLS = os.path.join(BUILD, "k8s-check")
RULES = ["schema", "unknown-field", "resources", "probes", "image-tag", "selector", "service-port",
         "hpa", "pdb", "networkpolicy", "pod-security", "read-only-root"]
# what is rendered and checked: each overlay (with the generator Job beside it), the base, and
# production with every component (postgres, redis)
SETS = {
    "base": ["deploy/k8s/base"],
    "minikube": ["deploy/k8s/overlays/minikube"],
    "production": ["deploy/k8s/overlays/production"],
    "all-components": ["tests/k8s/all-components"],
}
GENERATOR = "deploy/k8s/generator"


def kubectl():
    """kubectl with kustomize v5 (components, labels), else a SKIP naming what is missing."""
    path = shutil.which("kubectl")
    if not path:
        raise Skip("kubectl not installed (not a Debian package: install kubectl v1.27 or later)")
    p = subprocess.run([path, "version", "--client", "-o", "json"], capture_output=True, text=True,
                       timeout=30)
    try:
        kustomize = json.loads(p.stdout).get("kustomizeVersion", "")
    except json.JSONDecodeError:
        kustomize = ""
    if not re.match(r"v[5-9]\.", kustomize):
        raise Skip(f"kubectl's kustomize is {kustomize or 'unknown'}, not v5 (kubectl v1.27 or later)")
    return path


def render(kubectl_bin, path, out_dir):
    p = subprocess.run([kubectl_bin, "kustomize", os.path.join(ROOT, path)], capture_output=True,
                       text=True, timeout=60)
    assert p.returncode == 0, f"kubectl kustomize {path}: {p.stderr.strip()[:1000]}"
    out = os.path.join(out_dir, path.replace("/", "_") + ".yaml")
    with open(out, "w") as f:
        f.write(p.stdout)
    return out


def install_checker():
    """npm ci of tests/k8s/package-lock.json into build/k8s-check (again only when the lock
    changes), with check.mjs beside the modules it imports."""
    npm = need("npm")
    os.makedirs(TOOLS, exist_ok=True)
    with open(os.path.join(CHECKS, "package-lock.json"), "rb") as f:
        lock_hash = hashlib.sha256(f.read()).hexdigest()
    marker = os.path.join(TOOLS, ".installed")
    current = open(marker).read() if os.path.exists(marker) else ""
    if current != lock_hash:
        for name in ("package.json", "package-lock.json"):
            shutil.copy(os.path.join(CHECKS, name), TOOLS)
        p = subprocess.run([npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund",
                            "--loglevel=error"], cwd=TOOLS, capture_output=True, text=True,
                           timeout=300)
        assert p.returncode == 0, f"npm ci in {TOOLS}: {p.stderr[-2000:]}"
        with open(marker, "w") as f:
            f.write(lock_hash)
    shutil.copy(os.path.join(CHECKS, "check.mjs"), TOOLS)
    return need("node")


def run_checks(node, sets):
    """{name: (object count, [problems])} from check.mjs for {name: [files]}."""
    args = [f"{name}={','.join(files)}" for name, files in sets.items()]
    p = subprocess.run([node, os.path.join(TOOLS, "check.mjs"), *args], capture_output=True,
                       text=True, timeout=120)
    assert p.returncode == 0, f"check.mjs: {p.returncode}\n{p.stderr[-3000:]}"
    out = {}
    for line in p.stdout.splitlines():
        doc = json.loads(line)
        out[doc["set"]] = (doc["objects"], doc["problems"])
    assert set(out) == set(sets), (sorted(out), sorted(sets))
    return out


_CACHE = {}


def fixtures():
    return sorted(os.path.basename(os.path.dirname(p))
                  for p in glob.glob(os.path.join(CHECKS, "broken", "*", "kustomization.yaml")))


def rendered_and_checked():
    """Renders every set and every broken fixture (in parallel: kubectl's start-up is most of
    the time) and checks them all in one run of check.mjs; computed once for the tests here.
    Returns ({set name: [rendered files]}, {set name: (objects, problems)})."""
    if "result" in _CACHE:
        return _CACHE["result"]
    from concurrent.futures import ThreadPoolExecutor
    kc = kubectl()
    node = install_checker()
    d = tempfile.mkdtemp(prefix="surge-k8s-")
    paths = [GENERATOR] + [p for ps in SETS.values() for p in ps] + \
        [f"tests/k8s/broken/{name}" for name in fixtures()]
    with ThreadPoolExecutor(max_workers=4) as pool:
        out = dict(zip(paths, pool.map(lambda p: render(kc, p, d), paths)))
    files = {name: [out[p] for p in ps] + [out[GENERATOR]] for name, ps in SETS.items()}
    files.update({f"broken/{name}": [out[f"tests/k8s/broken/{name}"], out[GENERATOR]]
                  for name in fixtures()})
    _CACHE["result"] = (files, run_checks(node, files))
    _CACHE["dir"] = d
    return _CACHE["result"]


def load(path):
    with open(path) as f:
        return [d for d in yaml.safe_load_all(f) if d]


def find(objs, kind, name):
    for o in objs:
        if o["kind"] == kind and o["metadata"]["name"] == name:
            return o
    raise AssertionError(f"no {kind}/{name} among {[(o['kind'], o['metadata']['name']) for o in objs]}")


def test_overlays_render_and_pass_every_check():
    files, results = rendered_and_checked()
    bad = [f"{name}: {p['rule']} {p['message']}" for name in SETS for p in results[name][1]]
    assert not bad, "problems in the manifests:\n    " + "\n    ".join(bad)
    print("    valid: " + ", ".join(f"{name} ({results[name][0]} objects)" for name in SETS),
          flush=True)

    mk = load(files["minikube"][0])
    svc = find(mk, "Service", "surge")
    assert svc["spec"]["type"] == "NodePort" and svc["spec"]["ports"][0]["nodePort"] == 30000
    dep = find(mk, "Deployment", "surge")
    c = dep["spec"]["template"]["spec"]["containers"][0]
    assert c["imagePullPolicy"] == "Never" and c["image"] == "surge:dev", c["image"]
    assert find(mk, "HorizontalPodAutoscaler", "surge")["spec"]["minReplicas"] == 1

    prod = load(files["production"][0])
    dep = find(prod, "Deployment", "surge")
    keys = {t["topologyKey"] for t in dep["spec"]["template"]["spec"]["topologySpreadConstraints"]}
    assert keys == {"topology.kubernetes.io/zone", "kubernetes.io/hostname"}, keys
    hpa = find(prod, "HorizontalPodAutoscaler", "surge")["spec"]
    assert (hpa["minReplicas"], hpa["maxReplicas"]) == (2, 10), hpa
    board = find(prod, "ConfigMap", "surge-dashboard")
    assert board["metadata"]["labels"].get("grafana_dashboard") == "1"
    with open(os.path.join(ROOT, "deploy", "grafana", "surge-dashboard.json")) as f:
        assert json.loads(board["data"]["surge-dashboard.json"]) == json.load(f)
    find(prod, "ServiceMonitor", "surge")
    find(prod, "PrometheusRule", "surge")
    for o in prod:
        if o["kind"] != "Namespace":
            assert o["metadata"].get("namespace") == "load-testing", o["metadata"]

    full = load(files["all-components"][0])
    env_from = find(full, "Deployment", "surge")["spec"]["template"]["spec"]["containers"][0]["envFrom"]
    secret = next(e["secretRef"]["name"] for e in env_from if "secretRef" in e)
    assert "DATABASE_URL" in find(full, "Secret", secret)["data"]
    config = next(e["configMapRef"]["name"] for e in env_from if "configMapRef" in e)
    assert find(full, "ConfigMap", config)["data"]["REDIS_URL"] == "redis://redis:6379/0"
    find(full, "Deployment", "postgres")
    find(full, "Deployment", "redis")


def test_every_broken_fixture_is_rejected_by_its_rule():
    files, results = rendered_and_checked()
    expected = {}
    for name in fixtures():
        rule = max((r for r in RULES if name.startswith(r + "-")), key=len, default=None)
        assert rule, f"tests/k8s/broken/{name}: the name does not start with a rule ({RULES})"
        expected[name] = rule
    missing = set(RULES) - set(expected.values())
    assert not missing, f"rules without a broken fixture: {sorted(missing)}"
    wrong = []
    for name, rule in expected.items():
        rules = {p["rule"] for p in results["broken/" + name][1]}
        if rule not in rules:
            wrong.append(f"{name}: expected a {rule} problem, got {sorted(rules) or 'none'}")
    assert not wrong, "broken fixtures not rejected:\n    " + "\n    ".join(wrong)
    print(f"    {len(expected)} broken fixtures rejected, {len(RULES)} rules", flush=True)


def env_of(container, objs):
    """The container's environment as the kubelet would build it, from the rendered objects:
    envFrom ConfigMaps and Secrets, then env (downward API and resource fields filled in)."""
    env = {}
    for src in container.get("envFrom", []):
        if "configMapRef" in src:
            env.update(find(objs, "ConfigMap", src["configMapRef"]["name"])["data"])
        if "secretRef" in src:
            import base64
            data = find(objs, "Secret", src["secretRef"]["name"])["data"]
            env.update({k: base64.b64decode(v).decode() for k, v in data.items()})
    for e in container.get("env", []):
        if "value" in e:
            env[e["name"]] = e["value"]
        elif "resourceFieldRef" in e["valueFrom"]:
            ref = e["valueFrom"]["resourceFieldRef"]
            kind, res = ref["resource"].split(".")
            q = container["resources"][kind][res]
            cores = float(q[:-1]) / 1000 if q.endswith("m") else float(q)
            env[e["name"]] = str(math.ceil(cores / float(ref.get("divisor", "1"))))
        else:
            env[e["name"]] = f"test-{e['name'].lower()}"
    return env


def seconds(text):
    return float(text[:-1]) if text.endswith("s") else float(text)


def serve_from(dep, objs, **replace):
    """surge serve with the Deployment's args and environment, listening on loopback; env
    values are rewritten by replace (name -> function)."""
    c = dep["spec"]["template"]["spec"]["containers"][0]
    args = list(c["args"])
    assert args[0] == "serve", args
    i = args.index("--listen")
    del args[i:i + 2]
    env = env_of(c, objs)
    for name, fn in replace.items():
        env[name] = fn(env[name])
    return Serve(*args[1:], env=dict(os.environ, **env), workers=int(env["SURGE_WORKERS"])), c


def test_manifest_config_and_commands_run_for_real():
    files, _ = rendered_and_checked()
    objs = load(files["production"][0])
    job = load(files["production"][-1])[0]
    target_dep = find(objs, "Deployment", "surge")
    down_dep = find(objs, "Deployment", "surge-downstream")

    # the drain fits in the grace period: preStop sleep + serve's drain < SIGKILL
    for dep in (target_dep, down_dep):
        spec = dep["spec"]["template"]["spec"]
        c = spec["containers"][0]
        drain = seconds(env_of(c, objs)["SURGE_DRAIN_TIMEOUT"])
        pre = c["lifecycle"]["preStop"]["sleep"]["seconds"]
        assert pre + drain < spec["terminationGracePeriodSeconds"], (pre, drain, spec)

    down, _ = serve_from(down_dep, objs)
    with down:
        target, c = serve_from(target_dep, objs,
                               DOWNSTREAM_SERVICE_URL=lambda u: down.url("").rstrip("/"))
        with target:
            for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
                path = c[probe]["httpGet"]["path"]
                status, _, _ = http("GET", target.url(path))
                assert status == 200, f"{probe} {path}: {status}"
            # the configured downstream URL works: the target reaches the downstream role
            status, _, body = http("GET", target.url("/api/call-downstream?endpoint=slow&delay=0.01"))
            assert status == 200, (status, body[:300])
            # the generator Job's own arguments, pointed at loopback and shortened
            args = [a.replace("http://surge:8080", target.url("").rstrip("/"))
                    for a in job["spec"]["template"]["spec"]["containers"][0]["args"]]
            args = ["--duration=1s" if a.startswith("--duration=") else a for a in args]
            assert args[0] == "run", args
            p = surge(*args, timeout=60)
            # 4: the generator was short of CPU on a busy host; 2 would be a rejected argument
            assert p.returncode in (0, 4), f"surge {' '.join(args)}: {p.returncode}\n{p.stderr[-2000:]}"
            doc = json.loads(p.stdout)  # --json=- : the result document is the Job's log
            assert doc["totals"]["requests"] > 0 and doc["totals"]["errors"] == 0, doc["totals"]
            # the responses per pod: here the one target, named by its POD_NAME (downward API)
            pod = env_of(c, objs)["POD_NAME"]
            assert [v["value"] for v in doc["group_by"]["values"]] == [pod], doc["group_by"]


def test_minikube_script_dry_run():
    script = os.path.join(ROOT, "deploy", "minikube.sh")
    env = dict(os.environ, PATH="/usr/bin:/bin")  # no minikube needed, none called
    p = subprocess.run([script, "--dry-run"], capture_output=True, text=True, timeout=60, env=env)
    assert p.returncode == 0, f"minikube.sh --dry-run: {p.returncode}\n{p.stderr}"
    commands = [line[2:] for line in p.stdout.splitlines() if line.startswith("+ ")]
    want = ["minikube start", "minikube addons enable metrics-server", "make image IMAGE=surge:dev",
            "minikube image load build/surge-image.tar",
            "kubectl apply -k deploy/k8s/overlays/minikube",
            "kubectl -n load-testing rollout restart deployment/surge deployment/surge-downstream",
            "kubectl -n load-testing rollout status deployment/surge-downstream",
            "kubectl -n load-testing rollout status deployment/surge", "minikube ip"]
    assert len(commands) == len(want), commands
    for got, w in zip(commands, want):
        assert got.startswith(w), f"expected {w!r}, got {got!r}"
    assert "http://$(minikube ip):30000" in p.stdout, p.stdout
    assert "kubectl apply -k deploy/k8s/generator" in p.stdout
    # the image the script builds is the one the overlay runs (base: surge, tag dev)
    with open(os.path.join(K8S, "base", "kustomization.yaml")) as f:
        images = yaml.safe_load(f)["images"]
    assert {"name": "surge", "newTag": "dev"} in images, images

    p = subprocess.run([script, "--bogus"], capture_output=True, text=True, timeout=30, env=env)
    assert p.returncode == 2 and "unknown option '--bogus'" in p.stderr, (p.returncode, p.stderr)


if __name__ == "__main__":
    import atexit
    atexit.register(lambda: shutil.rmtree(_CACHE.get("dir", ""), ignore_errors=True))
    main([test_overlays_render_and_pass_every_check,
          test_every_broken_fixture_is_rejected_by_its_rule,
          test_manifest_config_and_commands_run_for_real,
          test_minikube_script_dry_run])
