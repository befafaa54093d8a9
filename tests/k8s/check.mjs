// Offline checks of rendered Kubernetes manifests (kubectl kustomize output), run by
// tests/integration/test_deploy_k8s.py from the directory where `npm ci` installed this
// folder's package-lock.json.
//
//   node check.mjs NAME=FILE[,FILE...] ...
//
// Each NAME is checked on its own (its files together: an overlay plus the generator Job).
// Prints one JSON object per line, {"set": NAME, "objects": N, "problems": [{"rule", "object",
// "message"}]}, and exits 0 (the caller judges; a crash is exit 1).
//
// Rules (each has a deliberately broken fixture under tests/k8s/broken/<rule>-*):
//   schema          the object validates against its OpenAPI/CRD schema (kubernetes-models,
//                   @kubernetes-models/prometheus-operator); a kind without a schema is a problem
//   unknown-field   no field the schema does not know: those packages accept unknown fields,
//                   so every property the validator never looked at is reported
//   resources       every container has cpu and memory requests and limits
//   probes          every container of a long-running workload has startup, liveness and
//                   readiness probes (not Jobs: a probe on a one-shot run means nothing)
//   image-tag       every image names a tag (or digest) that is not "latest"
//   selector        a workload's selector matches its template's labels; a Service's and a
//                   PodDisruptionBudget's selector match some pod template
//   service-port    every Service targetPort names (or numbers) a port of the pods it selects
//   hpa             the HPA's scaleTargetRef exists, and that workload sets no fixed replicas
//                   (the HPA owns the count; a fixed one fights it on every apply)
//   pdb             a PDB allows at least one voluntary disruption at the workload's minimum
//                   (the HPA's minReplicas, else its replicas): otherwise node drains block
//   networkpolicy   a NetworkPolicy's podSelector, and each same-namespace from/to
//                   podSelector, selects some pod template
//   pod-security    the restricted Pod Security Standard (v1.32) holds for every pod template
//   read-only-root  every container's root filesystem is read-only
//   affinity        each pod (anti-)affinity term and topology spread constraint selects
//                   some pod template of its namespace: one that selects nothing spreads
//                   nothing, silently
import { readFileSync } from "node:fs";
import { parseAllDocuments } from "yaml";

const SCHEMA_MODULES = {
  "monitoring.coreos.com/v1": "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1",
  "monitoring.coreos.com/v1alpha1":
    "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1alpha1",
};
const WORKLOADS = new Set(["Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob"]);
const LONG_RUNNING = new Set(["Deployment", "StatefulSet", "DaemonSet", "ReplicaSet"]);

async function schemaFor(apiVersion, kind) {
  const spec =
    SCHEMA_MODULES[apiVersion] ?? (apiVersion.includes("/") ? `kubernetes-models/${apiVersion}` : `kubernetes-models/v1`);
  try {
    const mod = await import(`${spec}/${kind}`);
    return mod[kind];
  } catch {
    return undefined;
  }
}

// Wraps a document so that every property the validator reads is recorded: what it never
// read, it does not know.
function track(value, seen) {
  if (value === null || typeof value !== "object") return value;
  const rec = { read: new Set(), enumerated: false };
  seen.set(value, rec);
  return new Proxy(value, {
    get(t, k, r) {
      if (typeof k === "string") rec.read.add(k);
      return track(Reflect.get(t, k, r), seen);
    },
    has(t, k) {
      if (typeof k === "string") rec.read.add(k);
      return Reflect.has(t, k);
    },
    // a map (labels, resources.limits, data) is enumerated: all its keys are allowed
    ownKeys(t) {
      rec.enumerated = true;
      return Reflect.ownKeys(t);
    },
  });
}

function unknownFields(value, seen, path, out) {
  if (value === null || typeof value !== "object") return;
  if (Array.isArray(value)) {
    value.forEach((v, i) => unknownFields(v, seen, `${path}/${i}`, out));
    return;
  }
  const rec = seen.get(value);
  // an object the validator looked into but did not enumerate has a fixed set of fields;
  // one it never looked into is free-form (x-kubernetes-preserve-unknown-fields)
  if (rec && !rec.enumerated && rec.read.size > 0)
    for (const k of Object.keys(value)) if (!rec.read.has(k)) out.push(`${path}/${k}`);
  for (const k of Object.keys(value)) unknownFields(value[k], seen, `${path}/${k}`, out);
}

const id = (o) => `${o.kind}/${o.metadata?.name ?? "?"}`;

function podTemplate(o) {
  if (o.kind === "CronJob") return o.spec?.jobTemplate?.spec?.template;
  if (WORKLOADS.has(o.kind)) return o.spec?.template;
  return undefined;
}

function containersOf(spec) {
  return [...(spec?.initContainers ?? []), ...(spec?.containers ?? [])];
}

function matches(selector, labels) {
  if (!selector) return false;
  labels = labels ?? {};
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of selector.matchExpressions ?? []) {
    const has = Object.hasOwn(labels, e.key);
    const val = labels[e.key];
    if (e.operator === "In" && !(has && e.values.includes(val))) return false;
    if (e.operator === "NotIn" && has && e.values.includes(val)) return false;
    if (e.operator === "Exists" && !has) return false;
    if (e.operator === "DoesNotExist" && has) return false;
  }
  return true;
}

const selectsSomething = (selector, pods, ns) =>
  pods.some((p) => p.ns === ns && matches(selector, p.labels));
const nsOf = (o) => o.metadata?.namespace ?? "default";

function checkPolicies(objs, problem) {
  const pods = [];
  for (const o of objs) {
    const t = podTemplate(o);
    if (t) pods.push({ owner: o, ns: nsOf(o), labels: t.metadata?.labels ?? {}, spec: t.spec ?? {} });
  }

  for (const p of pods) {
    const o = p.owner;
    const long = LONG_RUNNING.has(o.kind);
    const podSc = p.spec.securityContext ?? {};
    for (const c of containersOf(p.spec)) {
      const where = `${id(o)} container ${c.name}`;
      const r = c.resources ?? {};
      for (const kind of ["requests", "limits"])
        for (const res of ["cpu", "memory"])
          if (r[kind]?.[res] === undefined) problem("resources", o, `${where} has no ${res} ${kind.slice(0, -1)}`);
      if (long)
        for (const probe of ["startupProbe", "livenessProbe", "readinessProbe"])
          if (!c[probe]) problem("probes", o, `${where} has no ${probe}`);

      const image = c.image ?? "";
      const digest = image.includes("@");
      const last = image.split("/").pop();
      const tag = last.includes(":") ? last.split(":").pop() : "";
      if (!digest && (tag === "" || tag === "latest"))
        problem("image-tag", o, `${where}: image ${JSON.stringify(image)} ${tag ? "is tagged latest" : "has no tag"}`);

      const sc = c.securityContext ?? {};
      const pss = (m) => problem("pod-security", o, `${where}: ${m}`);
      if (sc.privileged) pss("privileged");
      if (sc.allowPrivilegeEscalation !== false) pss("allowPrivilegeEscalation is not false");
      const nonRoot = sc.runAsNonRoot ?? podSc.runAsNonRoot;
      if (nonRoot !== true) pss("runAsNonRoot is not true");
      if ((sc.runAsUser ?? podSc.runAsUser) === 0) pss("runAsUser is 0");
      const seccomp = (sc.seccompProfile ?? podSc.seccompProfile)?.type;
      if (seccomp !== "RuntimeDefault" && seccomp !== "Localhost") pss(`seccompProfile is ${seccomp ?? "unset"}`);
      const caps = sc.capabilities ?? {};
      if (!(caps.drop ?? []).includes("ALL")) pss("capabilities do not drop ALL");
      for (const add of caps.add ?? []) if (add !== "NET_BIND_SERVICE") pss(`adds capability ${add}`);
      for (const port of c.ports ?? []) if (port.hostPort) pss(`uses hostPort ${port.hostPort}`);
      if (sc.procMount && sc.procMount !== "Default") pss(`procMount ${sc.procMount}`);
      if (sc.readOnlyRootFilesystem !== true)
        problem("read-only-root", o, `${where}: readOnlyRootFilesystem is not true`);
    }
    const terms = [];
    for (const kind of ["podAffinity", "podAntiAffinity"]) {
      const a = p.spec.affinity?.[kind] ?? {};
      for (const t of a.requiredDuringSchedulingIgnoredDuringExecution ?? []) terms.push([kind, t]);
      for (const w of a.preferredDuringSchedulingIgnoredDuringExecution ?? []) terms.push([kind, w.podAffinityTerm ?? {}]);
    }
    for (const [kind, t] of terms) {
      // a term over other namespaces selects pods this set does not hold
      if (t.namespaceSelector || (t.namespaces ?? []).some((n) => n !== p.ns)) continue;
      if (!selectsSomething(t.labelSelector, pods, p.ns))
        problem("affinity", o, `${id(o)}: ${kind} term's labelSelector ${JSON.stringify(t.labelSelector)} selects no pod template`);
    }
    for (const c of p.spec.topologySpreadConstraints ?? [])
      if (!selectsSomething(c.labelSelector, pods, p.ns))
        problem("affinity", o, `${id(o)}: topologySpreadConstraint's labelSelector ${JSON.stringify(c.labelSelector)} selects no pod template`);

    const pss = (m) => problem("pod-security", o, `${id(o)}: ${m}`);
    for (const host of ["hostNetwork", "hostPID", "hostIPC"]) if (p.spec[host]) pss(`${host} is true`);
    if ((podSc.runAsUser ?? -1) === 0) pss("runAsUser is 0");
    const allowedVolumes = ["configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim", "projected", "secret"];
    for (const v of p.spec.volumes ?? [])
      for (const k of Object.keys(v))
        if (k !== "name" && !allowedVolumes.includes(k)) pss(`volume ${v.name} is of type ${k}`);

    if (o.spec?.selector && o.kind !== "Job" && !matches(o.spec.selector, p.labels))
      problem("selector", o, `${id(o)}: selector ${JSON.stringify(o.spec.selector)} does not match its template's labels`);
  }

  const byKindName = new Map(objs.map((o) => [`${o.kind}/${nsOf(o)}/${o.metadata?.name}`, o]));
  const hpaMin = new Map(); // workload key -> minReplicas
  for (const h of objs.filter((o) => o.kind === "HorizontalPodAutoscaler")) {
    const ref = h.spec?.scaleTargetRef ?? {};
    const key = `${ref.kind}/${nsOf(h)}/${ref.name}`;
    const target = byKindName.get(key);
    if (!target) {
      problem("hpa", h, `${id(h)}: scaleTargetRef ${ref.kind}/${ref.name} is not among the objects`);
      continue;
    }
    if (target.spec?.replicas !== undefined)
      problem("hpa", target, `${id(target)} sets replicas: ${target.spec.replicas} while ${id(h)} scales it`);
    hpaMin.set(key, h.spec?.minReplicas ?? 1);
  }

  for (const s of objs.filter((o) => o.kind === "Service")) {
    if (!s.spec?.selector) continue; // a Service without selector has manual endpoints
    const sel = { matchLabels: s.spec.selector };
    const selected = pods.filter((p) => p.ns === nsOf(s) && matches(sel, p.labels));
    if (selected.length === 0) {
      problem("selector", s, `${id(s)}: selector ${JSON.stringify(s.spec.selector)} selects no pod template`);
      continue;
    }
    for (const port of s.spec.ports ?? []) {
      const tp = port.targetPort ?? port.port;
      const ok = selected.every((p) =>
        containersOf(p.spec).some((c) =>
          (c.ports ?? []).some((cp) => (typeof tp === "string" ? cp.name === tp : cp.containerPort === tp)),
        ),
      );
      if (!ok) problem("service-port", s, `${id(s)}: targetPort ${JSON.stringify(tp)} is not a port of the pods it selects`);
    }
  }

  for (const pdb of objs.filter((o) => o.kind === "PodDisruptionBudget")) {
    const selected = pods.filter((p) => p.ns === nsOf(pdb) && matches(pdb.spec?.selector, p.labels));
    if (selected.length === 0) {
      problem("selector", pdb, `${id(pdb)}: selector selects no pod template`);
      continue;
    }
    for (const p of selected) {
      const key = `${p.owner.kind}/${p.ns}/${p.owner.metadata?.name}`;
      const n = hpaMin.get(key) ?? p.owner.spec?.replicas ?? 1;
      const scaled = (v, up) => {
        if (typeof v === "number") return v;
        const pct = parseFloat(String(v)) / 100;
        return up ? Math.ceil(n * pct) : Math.floor(n * pct);
      };
      let allowed;
      if (pdb.spec.minAvailable !== undefined) allowed = n - scaled(pdb.spec.minAvailable, true);
      else if (pdb.spec.maxUnavailable !== undefined) allowed = scaled(pdb.spec.maxUnavailable, true);
      else allowed = n; // neither: no restriction
      if (allowed < 1)
        problem("pdb", pdb, `${id(pdb)} allows ${allowed} disruptions at ${n} replicas of ${id(p.owner)}: a node drain would block`);
    }
  }

  for (const np of objs.filter((o) => o.kind === "NetworkPolicy")) {
    if (!selectsSomething(np.spec?.podSelector ?? {}, pods, nsOf(np)))
      problem("networkpolicy", np, `${id(np)}: podSelector ${JSON.stringify(np.spec?.podSelector)} selects no pod template`);
    for (const dir of ["ingress", "egress"])
      for (const rule of np.spec?.[dir] ?? [])
        for (const peer of rule.from ?? rule.to ?? [])
          if (peer.podSelector && !peer.namespaceSelector && !selectsSomething(peer.podSelector, pods, nsOf(np)))
            problem("networkpolicy", np, `${id(np)}: ${dir} peer podSelector ${JSON.stringify(peer.podSelector)} selects no pod template`);
  }
}

async function checkSet(name, files) {
  const objs = [];
  const problems = [];
  const problem = (rule, o, message) => problems.push({ rule, object: id(o), message });
  for (const f of files)
    for (const doc of parseAllDocuments(readFileSync(f, "utf8"))) {
      if (doc.errors.length) throw new Error(`${f}: ${doc.errors[0].message}`);
      const o = doc.toJSON();
      if (o) objs.push(o);
    }
  for (const o of objs) {
    // kustomize folds long base64 values over lines; the API server's decoder (Go's
    // encoding/base64) skips the newlines, the schema's "byte" format does not
    if (o.kind === "Secret" && o.data)
      for (const k of Object.keys(o.data)) if (typeof o.data[k] === "string") o.data[k] = o.data[k].replace(/[\r\n]/g, "");
    const Model = o.apiVersion && o.kind ? await schemaFor(o.apiVersion, o.kind) : undefined;
    if (!Model) {
      problem("schema", o, `no schema for apiVersion ${o.apiVersion} kind ${o.kind}`);
      continue;
    }
    const seen = new WeakMap();
    try {
      Model.prototype.validate.call(track(o, seen));
    } catch (e) {
      problem("schema", o, String(e.message ?? e).split("\n").slice(0, 5).join("; "));
    }
    const unknown = [];
    unknownFields(o, seen, "", unknown);
    for (const path of unknown) problem("unknown-field", o, `${id(o)}: ${path} is not in the schema`);
  }
  checkPolicies(objs, problem);
  return { set: name, objects: objs.length, problems };
}

for (const arg of process.argv.slice(2)) {
  const eq = arg.indexOf("=");
  const result = await checkSet(arg.slice(0, eq), arg.slice(eq + 1).split(","));
  console.log(JSON.stringify(result));
}
