"""The Kubernetes manifests (deploy/k8s), offline: every overlay rendered by `kubectl kustomize`,
validated strictly against the Kubernetes and prometheus-operator schemas and checked against
the policies users otherwise learn in production (tests/k8s/check.mjs); every broken fixture
under tests/k8s/broken must be rejected by the rule it is named after. The rendered
configuration and commands run for real: the target, its downstream and the generator Job's
`surge run` start from the manifests' own args and environment on loopback, and so does a
distributed run (components/distributed): the coordinator Job's command and the Indexed Job's
shards, one process per index, their logs read back as `kubectl logs` shows them and the
result documents taken out of them as docs/distributed.md says. And deploy/minikube.sh
--dry-run prints the commands it would run.

kubectl is not a Debian package (Debian's kubernetes-client is 1.20, whose kustomize is too
old), so where it is missing these tests SKIP, naming it - in CI too."""

import base64
import glob
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
from urllib.parse import urlsplit

import yaml

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402
from harness import (ROOT, SURGE, Serve, Skip, favoured, free_port, http, main,  # noqa: E402
                     surge, wait_port)

K8S = os.path.join(ROOT, "deploy", "k8s")
CHECKS = os.path.join(ROOT, "tests", "k8s")
BUILD = os.path.join(ROOT, os.environ.get("BUILD", "build"))
TOOLS = os.path.join(BUILD, "k8s-check")
RULES = ["schema", "unknown-field", "resources", "probes", "image-tag", "selector", "service-port",
         "hpa", "pdb", "networkpolicy", "pod-security", "read-only-root", "affinity"]
# what is rendered and checked: each overlay (with the generator Job beside it), the base,
# production with every component (postgres, redis, distributed), and the distributed run as
# it is applied (deploy/k8s/distributed) beside the stack whose target it loads
SETS = {
    "base": ["deploy/k8s/base"],
    "minikube": ["deploy/k8s/overlays/minikube"],
    "production": ["deploy/k8s/overlays/production"],
    "all-components": ["tests/k8s/all-components"],
    "distributed": ["deploy/k8s/overlays/production", "deploy/k8s/distributed"],
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
    """npm ci of tests/k8s/package-lock.json into build/k8s-check, with check.mjs beside the
    modules it imports. Returns node's path."""
    return harness.npm_tools(CHECKS, TOOLS, ("check.mjs",))


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
            data = find(objs, "Secret", src["secretRef"]["name"])["data"]
            env.update({k: base64.b64decode(v).decode() for k, v in data.items()})
    for e in container.get("env", []):
        if "value" in e:
            env[e["name"]] = e["value"]
        elif "secretKeyRef" in e["valueFrom"]:
            ref = e["valueFrom"]["secretKeyRef"]
            data = find(objs, "Secret", ref["name"])["data"][ref["key"]]
            env[e["name"]] = base64.b64decode(data).decode()
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


def flag(args, name):
    """The value of --NAME=VALUE in a container's args."""
    for a in args:
        if a.startswith(f"--{name}="):
            return a.split("=", 1)[1]
    raise AssertionError(f"no --{name}=... in {args}")


def ingress_allowed(objs, src, dst, port):
    """Whether the NetworkPolicies let pods labelled src reach pods labelled dst on the named
    port: a pod no policy selects takes everything; a selected one what some rule lets in."""
    sel = lambda s, labels: all(labels.get(k) == v for k, v in s.get("matchLabels", {}).items())
    policies = [o for o in objs if o["kind"] == "NetworkPolicy" and sel(o["spec"]["podSelector"], dst)
                and "Ingress" in o["spec"].get("policyTypes", ["Ingress"])]
    if not policies:
        return True
    return any(any("podSelector" in peer and "namespaceSelector" not in peer
                   and sel(peer["podSelector"], src) for peer in rule.get("from", []))
               and any(p.get("port") == port for p in rule.get("ports", [{"port": port}]))
               for o in policies for rule in o["spec"].get("ingress", []))


def distributed_parts(objs):
    coord = find(objs, "Job", "surge-coordinator")
    shards = find(objs, "Job", "surge-shard")
    return (coord, coord["spec"]["template"]["spec"]["containers"][0], shards,
            shards["spec"]["template"]["spec"]["containers"][0],
            find(objs, "Service", "surge-coordinator"))


def test_distributed_component_holds_together():
    """What Kubernetes cannot check for us: the coordinator waits for as many shards as the
    Indexed Job runs at once, the shards' join address is the coordinator's Service and port,
    both sides read the token from the same Secret key, the shards spread over nodes, and the
    NetworkPolicies let the shards reach the coordinator and the target."""
    files, _ = rendered_and_checked()
    stack, objs = load(files["distributed"][0]), load(files["distributed"][1])
    coord, cc, shards, sc, svc = distributed_parts(objs)
    cspec, sspec = coord["spec"]["template"]["spec"], shards["spec"]["template"]["spec"]

    # the coordinator runs once, one pod: its exit code is the Job's verdict
    assert cc["args"][0] == "run" and cspec["restartPolicy"] == "Never", cc["args"]
    assert coord["spec"]["backoffLimit"] == 0, coord["spec"]
    assert coord["spec"].get("parallelism", 1) == coord["spec"].get("completions", 1) == 1
    # every shard at once, each with its index
    n = int(flag(cc["args"], "expect-shards"))
    spec = shards["spec"]
    assert spec["completionMode"] == "Indexed", spec
    assert spec["parallelism"] == spec["completions"] == n == 10, (spec, n)
    assert spec["backoffLimitPerIndex"] >= 1 and sspec["restartPolicy"] == "Never", spec
    final = [r for r in spec["podFailurePolicy"]["rules"] if r["action"] == "FailIndex"]
    codes = final[0]["onExitCodes"]
    assert codes["containerName"] == sc["name"] and codes["operator"] == "In", codes
    assert sorted(codes["values"]) == [1, 2, 3, 4, 5, 6], codes  # surge help exit-codes
    assert sc["args"][0] == "run" and not any(a.startswith("--join=") for a in sc["args"])

    # the join address: the Service's name and port, which lead to the coordinator's port
    port = svc["spec"]["ports"][0]
    assert svc["spec"]["selector"].items() <= coord["spec"]["template"]["metadata"]["labels"].items()
    host, listen = flag(cc["args"], "coordinator").rsplit(":", 1)
    assert host == "0.0.0.0", host  # a cluster's pods reach it, not loopback only
    target_port = next(p for p in cc["ports"] if p["name"] == port["targetPort"])
    assert target_port["containerPort"] == int(listen), (target_port, listen)
    senv = {e["name"]: e for e in sc["env"]}
    assert senv["SURGE_JOIN"]["value"] == f"http://{svc['metadata']['name']}:{port['port']}", senv
    # a readiness probe that needs no token: every HTTP request to the coordinator does
    assert cc["readinessProbe"]["tcpSocket"]["port"] == port["targetPort"], cc["readinessProbe"]

    # one token, from one Secret, as SURGE_TOKEN on both sides
    cenv = {e["name"]: e for e in cc["env"]}
    assert cenv["SURGE_TOKEN"]["valueFrom"] == senv["SURGE_TOKEN"]["valueFrom"], (cenv, senv)
    ref = cenv["SURGE_TOKEN"]["valueFrom"]["secretKeyRef"]
    token = base64.b64decode(find(objs, "Secret", ref["name"])["data"][ref["key"]]).decode()
    assert re.fullmatch(r"[A-Za-z0-9._~-]{16,256}", token), "the token is not one surge takes"
    # a shard runs as many engine threads as its CPU limit grants
    assert senv["SURGE_THREADS"]["valueFrom"]["resourceFieldRef"] == {
        "containerName": sc["name"], "resource": "limits.cpu", "divisor": "1"}, senv
    # no service links: a Service named surge-coordinator would give every pod
    # SURGE_COORDINATOR_PORT=tcp://..., and surge reads SURGE_<OPTION>
    assert cspec["enableServiceLinks"] is False and sspec["enableServiceLinks"] is False

    # the shards spread over nodes (preferred: a cluster with fewer nodes still runs them)
    terms = sspec["affinity"]["podAntiAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"]
    term = terms[0]["podAffinityTerm"]
    assert term["topologyKey"] == "kubernetes.io/hostname", term
    assert term["labelSelector"]["matchLabels"].items() <= \
        shards["spec"]["template"]["metadata"]["labels"].items(), term

    # the policies: the shards reach the coordinator and the target (whose policy in the base
    # lets only the generator Job and Prometheus in); others reach neither
    shard_labels = shards["spec"]["template"]["metadata"]["labels"]
    coord_labels = coord["spec"]["template"]["metadata"]["labels"]
    target_labels = find(stack, "Deployment", "surge")["spec"]["template"]["metadata"]["labels"]
    everything = stack + objs
    other = {"app.kubernetes.io/name": "other"}
    assert ingress_allowed(everything, shard_labels, coord_labels, "http"), "shards -/-> coordinator"
    assert ingress_allowed(everything, shard_labels, target_labels, "http"), "shards -/-> target"
    assert not ingress_allowed(everything, other, coord_labels, "http"), "any pod -> coordinator"
    assert not ingress_allowed(everything, other, target_labels, "http"), "any pod -> target"

    # included by an overlay's kustomization (tests/k8s/all-components), it takes that one's
    # namespace and image
    full = load(files["all-components"][0])
    for name in ("surge-coordinator", "surge-shard"):
        job = find(full, "Job", name)
        assert job["metadata"]["namespace"] == "load-testing", job["metadata"]
        image = job["spec"]["template"]["spec"]["containers"][0]["image"]
        assert image == "registry.example.com/load-testing/surge:0.1.0", image


class Pod:
    """A process started as a container is: the manifest's args and environment (of the
    test's own, no SURGE_<OPTION> variable: a pod has only its manifest's), its stdout and
    stderr read line by line as the container runtime reads them (two pipes, each line as it
    comes), so that log() is what `kubectl logs` would show."""

    def __init__(self, args, env):
        import threading
        self.lines, self.stdout, self.lock = [], [], threading.Lock()
        self.p = subprocess.Popen([SURGE, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  text=True, env={**{k: v for k, v in os.environ.items()
                                                      if not k.startswith("SURGE_")}, **env},
                                  preexec_fn=harness._favour)
        self.readers = [threading.Thread(target=self._read, args=(f, out), daemon=True)
                        for f, out in ((self.p.stdout, self.stdout), (self.p.stderr, None))]
        for t in self.readers:
            t.start()

    def _read(self, f, out):
        for line in f:
            with self.lock:
                self.lines.append(line)
                if out is not None:
                    out.append(line)

    def wait(self, timeout):
        try:
            rc = self.p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
            raise AssertionError(f"still running after {timeout}s:\n{self.log()[-3000:]}")
        for t in self.readers:
            t.join(timeout=10)
        return rc

    def kill(self):
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait()

    def log(self):
        with self.lock:
            return "".join(self.lines)


# docs/distributed.md: kubectl logs ... | grep -v '^surge ' | sed -n '/^{$/,/^}$/p' > F.json
FROM_LOG = "grep -v '^surge ' | sed -n '/^{$/,/^}$/p'"


def document_from_log(log, d, name):
    """The result document out of a pod's log, with the command docs/distributed.md gives."""
    path = os.path.join(d, name)
    p = subprocess.run(["sh", "-c", FROM_LOG], input=log, capture_output=True, text=True,
                       timeout=30)
    with open(path, "w") as f:
        f.write(p.stdout)
    try:
        return path, json.loads(p.stdout)
    except json.JSONDecodeError as e:
        raise AssertionError(f"{name}: no document in the log ({e}):\n{log[-6000:]}") from None


def test_distributed_manifests_run_for_real():
    """The coordinator Job's own command and environment on loopback (its test pointed at a
    real target and ended by a request count, -n, instead of 60 s), and the Indexed Job's
    shards, one process per index with JOB_COMPLETION_INDEX as Kubernetes sets it, joining
    through SURGE_JOIN with the Secret's token: the run is whole and exact, each result
    document comes out of its pod's log as the docs say, and `surge merge` of the shards'
    documents equals the coordinator's."""
    files, _ = rendered_and_checked()
    objs = load(files["distributed"][1])
    coord, cc, shards, sc, svc = distributed_parts(objs)
    n = shards["spec"]["completions"]
    requests = 20 * n
    cenv, senv = env_of(cc, objs), env_of(sc, objs)
    pods = []
    with favoured(), Serve() as target, tempfile.TemporaryDirectory() as d:
        port = free_port()
        args = []
        for a in cc["args"]:
            a = a.replace("http://surge:8080", target.url("").rstrip("/"))
            if a.startswith("--coordinator="):
                a = f"--coordinator=127.0.0.1:{port}"
            elif a.startswith("--duration="):
                a = f"--requests={requests}"
            args.append(a)
        try:
            coordinator = Pod(args, cenv)
            pods.append(coordinator)
            wait_port(port, timeout=30)  # the readiness probe's check: the port is open
            join = urlsplit(senv["SURGE_JOIN"])
            assert (join.hostname, join.port) == (svc["metadata"]["name"],
                                                  svc["spec"]["ports"][0]["port"]), join
            for i in range(n):
                env = dict(senv, SURGE_JOIN=f"http://127.0.0.1:{port}", JOB_COMPLETION_INDEX=str(i))
                pods.append(Pod(sc["args"], env))
            rcs = [p.wait(timeout=120) for p in pods]
        finally:
            for p in pods:
                p.kill()
        logs = [p.log() for p in pods]
        # 1 would be the p99 threshold failing on a starved host, 4 the shards short of CPU:
        # both judged, not broken; 6 (a shard lost) or 2 (an argument refused) are failures
        assert rcs[0] in (0, 1, 4), f"coordinator exited {rcs[0]}:\n{logs[0][-3000:]}"
        assert all(rc in (0, 1, 4) for rc in rcs[1:]), \
            [(i, rc, logs[i + 1][-1500:]) for i, rc in enumerate(rcs[1:]) if rc not in (0, 1, 4)]

        path, whole = document_from_log(logs[0], d, "coordinator.json")
        assert whole == json.loads("".join(pods[0].stdout)), "the log's document is not stdout's"
        # a runtime interleaves stderr's lines with stdout's in any order (this test's readers
        # did, before --quiet: the summary inside the document): with --quiet what stderr
        # still says starts "surge " (or is a blank line before it), anywhere in the log
        lines = "".join(pods[0].stdout).splitlines(keepends=True)
        half = len(lines) // 2
        worst = "".join(["surge run: UI at http://x/?token=t\n", *lines[:half], "\n",
                         "surge run: incomplete: 1 of 10 shards lost (exit 6)\n", *lines[half:],
                         "surge run: warning: late\n"])
        assert document_from_log(worst, d, "worst.json")[1] == whole
        stderr = [line for line in logs[0].splitlines() if line not in pods[0].stdout
                  and line + "\n" not in pods[0].stdout]
        assert all(line.startswith("surge ") or not line for line in stderr), stderr
        # the probe's connections (no request) are not logged as refused requests
        assert "without the coordinator's token" not in logs[0], logs[0][-3000:]
        assert whole["totals"]["requests"] == requests, whole["totals"]  # exact under -n
        assert whole["distributed"]["shards"] == n, whole["distributed"]
        assert not whole["distributed"].get("lost"), whole["distributed"]
        parts = []
        for i in range(n):
            part_path, part = document_from_log(logs[i + 1], d, f"shard{i}.json")
            assert part["totals"]["requests"] == requests // n, (i, part["totals"])
            # the place JOB_COMPLETION_INDEX asked for (1-based in the document)
            assert part["config"]["shard"] == {"index": i + 1, "count": n}, part["config"]
            parts.append(part_path)
        p = surge("merge", *parts, "--json=-", timeout=60)
        assert p.returncode in (0, 1, 4), f"surge merge: {p.returncode}\n{p.stderr[-2000:]}"
        merged = json.loads(p.stdout)
        for key in ("requests", "responses", "errors"):
            assert merged["totals"][key] == whole["totals"][key], (key, merged["totals"],
                                                                   whole["totals"])
        assert merged["status_codes"] == whole["status_codes"], (merged["status_codes"],
                                                                 whole["status_codes"])
        print(f"    {n} shards: {requests} requests, the coordinator's document = surge merge of "
              f"the shards' (from their logs)", flush=True)


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
          test_distributed_component_holds_together,
          test_distributed_manifests_run_for_real,
          test_minikube_script_dry_run])
