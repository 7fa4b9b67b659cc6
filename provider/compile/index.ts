/** model → PolicySet: runs each dialect's compiler; a dialect not used contributes no layer. */
import { Model } from "../model/model";
import { compileCalico } from "./calico";
import { createContext } from "./context";
import { Layer, PolicySet } from "../ir";
import { compileKubernetes } from "./kubernetes";
import { compileRancher } from "./rancher";

export function compile(model: Model): PolicySet {
  const ctx = createContext(model);
  const layers = [compileRancher(ctx), compileCalico(ctx), compileKubernetes(ctx)]
    .filter((l): l is Layer => l !== undefined);
  return ctx.builder.build({
    network: model.name ?? "default",
    endpoints: ctx.endpoints.map((e) => ({ name: e.name, ips: [...e.ips], ...(e.host ? { host: e.host } : {}) })),
    hosts: (model.hosts ?? []).map((h) => ({ name: h.name, backend: h.backend ?? "nftables" })),
  }, layers);
}
