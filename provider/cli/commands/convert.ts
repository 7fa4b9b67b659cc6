/** `netpol convert`: the model's documents as cluster API objects, without touching a cluster. */
import { stringify } from "yaml";
import { desiredObjects } from "../../deploy/cluster/objects";
import { single, UsageError } from "../args";
import { Command } from "../command";
import { EXIT } from "../io";
import { loadModelFile } from "../load";

export const convertCommand: Command = {
  name: "convert",
  summary: "print the model's policies as cluster objects (NetworkPolicy v1, Calico v3)",
  help: `Usage: netpol convert FILE [--format yaml|json] [--legacy-isolation-annotation]

Prints exactly what "apply" writes to a cluster, the label
app.kubernetes.io/managed-by=pulumi-netpolicy and the API server's defaults included
(policyTypes, port protocol TCP; empty lists and label maps left out, as the server stores them):
  - Kubernetes NetworkPolicies in networking.k8s.io/v1 (extensions/v1beta1 converted);
  - each namespace with isolation: DefaultDeny as the equivalent "default-deny-ingress"
    NetworkPolicy (podSelector {}, policyTypes [Ingress]), or with
    --legacy-isolation-annotation as the net.beta.kubernetes.io/network-policy annotation;
  - Calico v1 profiles and policies as projectcalico.org/v3 Profile and GlobalNetworkPolicy
    (tags become labelsToApply and has(tag) selectors; "!field" becomes notField; "N:M" ports stay).

  --format F    "yaml" (default; one document per object) or "json" (a v1 List)`,
  options: { format: { value: true }, "legacy-isolation-annotation": {} },
  positional: 1,
  async run(args, io) {
    const format = single(args, "format") ?? "yaml";
    if (format !== "yaml" && format !== "json") throw new UsageError(`--format must be "yaml" or "json", not "${format}"`);
    const file = args.positional[0];
    const model = await loadModelFile(file, io.cwd);
    const objects = desiredObjects(model, file, {
      legacyIsolationAnnotation: args.flags.has("legacy-isolation-annotation") || model.cluster?.legacyIsolationAnnotation,
    }).map((d) => d.object);
    io.out(format === "json"
      ? JSON.stringify({ apiVersion: "v1", kind: "List", items: objects }, null, 2)
      : objects.map((o) => stringify(o)).join("---\n"));
    return EXIT.ok;
  },
};
