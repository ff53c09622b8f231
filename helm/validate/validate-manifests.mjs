// Validates rendered Kubernetes manifests (multi-document YAML files given as arguments):
//  1. schema: each object against the OpenAPI schema of its apiVersion and kind, from
//     kubernetes-models (core APIs) and @kubernetes-models/keda (KEDA's CRDs): required fields,
//     types, enums, formats; an apiVersion/kind with no schema is an error, so nothing goes unchecked;
//  2. strict fields: every field of a core object must exist in the API (the API server would drop
//     a misspelt or misplaced one silently), from @kubernetes/client-node's model field maps;
//  3. references inside the release: Service, PodDisruptionBudget and Deployment selectors match
//     pod labels, ScaledObjects target a Deployment and name a TriggerAuthentication, an Ingress
//     backend is a Service port, probes and Services use a declared container port.
// Writes FILE.json (the objects as a JSON array) beside each input, for tests to inspect.
// Exits 1 listing every problem, 0 printing a summary line per file.
import { readFileSync, writeFileSync } from "node:fs";
import { parseAllDocuments } from "yaml";
import * as k8s from "@kubernetes/client-node";

async function loadModel(apiVersion, kind) {
  const [group, version] = apiVersion.includes("/") ? apiVersion.split("/") : ["", apiVersion];
  const modules = group.endsWith("keda.sh")
    ? [`@kubernetes-models/keda/${group}/${version}/${kind}`]
    : [`kubernetes-models/${group ? `${group}/` : ""}${version}/${kind}`];
  for (const name of modules) {
    try {
      const module = await import(name);
      if (module[kind]) return module[kind];
    } catch (error) {
      if (error.code !== "ERR_MODULE_NOT_FOUND" && error.code !== "MODULE_NOT_FOUND") throw error;
    }
  }
  return null;
}

// client-node names its models after the API version: apps/v1 Deployment -> V1Deployment.
function strictTypeName(apiVersion, kind) {
  const version = apiVersion.split("/").pop();
  const name = version.charAt(0).toUpperCase() + version.slice(1) + kind;
  return typeof k8s[name]?.getAttributeTypeMap === "function" ? name : null;
}

const leafTypes = new Set(["string", "number", "boolean", "Date", "object", "any", "IntOrString"]);

function unknownFields(value, type, path, problems) {
  if (value === null || value === undefined || leafTypes.has(type)) return;
  let match = /^Array<(.+)>$/.exec(type);
  if (match) {
    if (Array.isArray(value)) value.forEach((item, i) => unknownFields(item, match[1], `${path}[${i}]`, problems));
    return;
  }
  match = /^\{ \[key: string\]: (.+); \}$/.exec(type);
  if (match) {
    if (typeof value === "object") for (const [key, item] of Object.entries(value)) unknownFields(item, match[1], `${path}.${key}`, problems);
    return;
  }
  const model = k8s[type];
  if (typeof model?.getAttributeTypeMap !== "function" || typeof value !== "object" || Array.isArray(value)) return;
  const fields = new Map(model.getAttributeTypeMap().map((field) => [field.baseName, field.type]));
  for (const [key, item] of Object.entries(value)) {
    if (!fields.has(key)) problems.push(`${path}.${key}: unknown field (not in ${type})`);
    else unknownFields(item, fields.get(key), `${path}.${key}`, problems);
  }
}

const matches = (selector, labels) =>
  Object.entries(selector ?? {}).every(([key, value]) => labels?.[key] === value);

function checkReferences(objects) {
  const problems = [];
  const named = (kind) => new Map(objects.filter((o) => o.kind === kind).map((o) => [o.metadata.name, o]));
  const deployments = named("Deployment");
  const services = named("Service");
  const triggerAuthentications = named("TriggerAuthentication");
  const podLabels = [...deployments.values()].map((d) => d.spec.template.metadata?.labels ?? {});

  for (const [name, d] of deployments) {
    if (!matches(d.spec.selector.matchLabels, d.spec.template.metadata?.labels))
      problems.push(`Deployment ${name}: selector does not match its pod labels`);
    for (const c of d.spec.template.spec.containers) {
      const ports = new Set((c.ports ?? []).map((p) => p.name));
      for (const probe of ["startupProbe", "livenessProbe", "readinessProbe"]) {
        const port = c[probe]?.httpGet?.port;
        if (typeof port === "string" && !ports.has(port))
          problems.push(`Deployment ${name}: ${c.name}.${probe} uses undeclared port ${port}`);
      }
      const volumes = new Set((d.spec.template.spec.volumes ?? []).map((v) => v.name));
      for (const m of c.volumeMounts ?? [])
        if (!volumes.has(m.name)) problems.push(`Deployment ${name}: ${c.name} mounts unknown volume ${m.name}`);
    }
  }
  for (const [name, s] of services) {
    const target = [...deployments.values()].find((d) => matches(s.spec.selector, d.spec.template.metadata?.labels));
    if (!target) { problems.push(`Service ${name}: selector matches no pods`); continue; }
    const ports = new Set(target.spec.template.spec.containers.flatMap((c) => (c.ports ?? []).map((p) => p.name)));
    for (const p of s.spec.ports)
      if (typeof p.targetPort === "string" && !ports.has(p.targetPort))
        problems.push(`Service ${name}: targetPort ${p.targetPort} is not a container port`);
  }
  for (const pdb of objects.filter((o) => o.kind === "PodDisruptionBudget"))
    if (!podLabels.some((labels) => matches(pdb.spec.selector.matchLabels, labels)))
      problems.push(`PodDisruptionBudget ${pdb.metadata.name}: selector matches no pods`);
  for (const ingress of objects.filter((o) => o.kind === "Ingress"))
    for (const rule of ingress.spec.rules ?? [])
      for (const path of rule.http?.paths ?? []) {
        const backend = path.backend.service;
        const service = services.get(backend.name);
        if (!service || !service.spec.ports.some((p) => p.name === backend.port.name || p.port === backend.port.number))
          problems.push(`Ingress ${ingress.metadata.name}: backend ${backend.name} is not a Service port`);
      }
  for (const so of objects.filter((o) => o.kind === "ScaledObject")) {
    const target = deployments.get(so.spec.scaleTargetRef.name);
    if (!target) problems.push(`ScaledObject ${so.metadata.name}: no Deployment ${so.spec.scaleTargetRef.name}`);
    else if (target.spec.replicas !== undefined)
      problems.push(`ScaledObject ${so.metadata.name}: Deployment ${target.metadata.name} sets replicas, which fights KEDA`);
    for (const trigger of so.spec.triggers)
      if (trigger.authenticationRef && !triggerAuthentications.has(trigger.authenticationRef.name))
        problems.push(`ScaledObject ${so.metadata.name}: no TriggerAuthentication ${trigger.authenticationRef.name}`);
  }
  return problems;
}

let failed = false;
for (const file of process.argv.slice(2)) {
  const problems = [];
  const objects = [];
  for (const doc of parseAllDocuments(readFileSync(file, "utf8"))) {
    if (doc.errors.length) { problems.push(...doc.errors.map((e) => `YAML: ${e.message}`)); continue; }
    const object = doc.toJS();
    if (object !== null) objects.push(object);
  }
  const seen = new Set();
  for (const object of objects) {
    const { apiVersion, kind } = object;
    const id = `${kind} ${object.metadata?.name}`;
    if (seen.has(id)) problems.push(`${id}: defined twice`);
    seen.add(id);
    const Model = await loadModel(apiVersion, kind);
    if (!Model) { problems.push(`${id}: no schema for ${apiVersion} ${kind}`); continue; }
    try {
      new Model(object).validate();
    } catch (error) {
      problems.push(`${id}: ${error.message}`);
    }
    const strictType = strictTypeName(apiVersion, kind);
    if (strictType) {
      const unknown = [];
      unknownFields(object, strictType, kind, unknown);
      problems.push(...unknown.map((p) => `${id}: ${p}`));
    }
  }
  if (!problems.length) problems.push(...checkReferences(objects));
  writeFileSync(`${file}.json`, JSON.stringify(objects, null, 1));
  const kinds = [...new Set(objects.map((o) => o.kind))].sort().join(", ");
  if (problems.length) {
    failed = true;
    console.log(`${file}: ${problems.length} problem(s)`);
    for (const p of problems) console.log(`  ${p}`);
  } else {
    console.log(`${file}: ${objects.length} objects valid (${kinds})`);
  }
}
process.exit(failed ? 1 : 0);
