/** Every host of every example model, rendered for one backend: what the guards must accept. */
import * as fs from "node:fs";
import * as path from "node:path";
import { compile } from "../../provider/compile";
import { Renderer } from "../../provider/render";
import type { HostRuleset } from "../../provider/ruleset";
import { exampleModel, ROOT } from "../support/models";
import { parseModel } from "../../provider/model/model";
import { fleet } from "../../bench/generate";

export function renderedSeeds(backend: HostRuleset["backend"]): [string, string, HostRuleset][] {
  return fs.readdirSync(path.join(ROOT, "examples/models")).filter((f) => f.endsWith(".yaml")).sort().flatMap((file) => {
    const model = exampleModel(file);
    const hosts = (model.hosts ?? []).map((h) => ({ ...h, backend }));
    const renderer = new Renderer(compile({ ...model, hosts }));
    return hosts.map((h): [string, string, HostRuleset] => [file, h.name, renderer.renderHost(h.name)]);
  });
}

/** Every host of the benchmarks' synthetic fleet (many sets and chains, hash-named), rendered for one backend. */
export function renderedFleet(backend: HostRuleset["backend"]): HostRuleset[] {
  const model = parseModel(fleet({ endpoints: 1000, hosts: 20, groups: 50, kubernetesPolicies: backend === "nftables" ? 40 : 0 }));
  const hosts = (model.hosts ?? []).map((h) => ({ ...h, backend }));
  const renderer = new Renderer(compile({ ...model, hosts }));
  return hosts.map((h) => renderer.renderHost(h.name));
}
