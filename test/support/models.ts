/** Test helpers: load the example models and compute matrices through the real pipeline. */
import * as fs from "node:fs";
import * as path from "node:path";
import { matrix, Matrix } from "../../provider/analyze/matrix";
import { parseProbe, Probe } from "../../provider/analyze/probe";
import { compile } from "../../provider/compile";
import { PolicySet } from "../../provider/ir";
import { Model, parseModelText } from "../../provider/model/model";

export const ROOT = path.resolve(__dirname, "../..");

export function exampleModel(name: string): Model {
  const file = path.join(ROOT, "examples/models", name);
  return parseModelText(fs.readFileSync(file, "utf8"), file);
}

export function probe(text: string): Probe {
  const p = parseProbe(text);
  if (typeof p === "string") throw new Error(p);
  return p;
}

export function matrixOf(ps: PolicySet, probeText: string): Matrix {
  return matrix(ps, [probe(probeText)]).probes[0].matrix;
}

export function compiledExample(name: string): PolicySet {
  return compile(exampleModel(name));
}

/** Builds the expected matrix from a predicate over (from, to); the diagonal is always true. */
export function expectedMatrix(names: string[], allowed: (from: string, to: string) => boolean): Matrix {
  return Object.fromEntries(names.map((f) => [f, Object.fromEntries(names.map((t) => [t, f === t || allowed(f, t)]))]));
}

/** The Kubernetes seed's NetworkPolicy (networking.k8s.io/v1), as examples/kubernetes-networkpolicy writes it. */
export const SEED_POLICY = {
  apiVersion: "networking.k8s.io/v1",
  kind: "NetworkPolicy",
  metadata: { name: "test-network-policy", namespace: "default" },
  spec: {
    podSelector: { matchLabels: { role: "db" } },
    ingress: [{
      from: [{ namespaceSelector: { matchLabels: { project: "myproject" } } }, { podSelector: { matchLabels: { role: "frontend" } } }],
      ports: [{ protocol: "TCP", port: 6379 }],
    }],
  },
};
