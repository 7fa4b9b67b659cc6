/**
 * Puts a model file onto a namespace lab: endpoint addresses become the lab's, hosts get the lab's
 * SSH settings (client key file, pinned host key). The model's policies stay as written.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { stringify } from "yaml";
import { Lab } from "../lab/lab";
import { ModelInput } from "../../provider/model/model";

export const LISTEN = { tcp: [80, 443, 6379, 7890], udp: [53] };

export async function labFor(model: ModelInput): Promise<Lab> {
  return Lab.create({
    hosts: (model.hosts ?? []).map((h) => ({ name: h.name })),
    endpoints: (model.endpoints ?? []).map((e) => ({ name: e.name, host: e.host ?? "", listen: LISTEN })),
    ipv6: false,
  });
}

/** Writes the model, rewritten for the lab, to a temp folder; returns the file's path. */
export function writeLabModel(model: ModelInput, lab: Lab, backend: "nftables" | "iptables" = "nftables"): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "netpol-e2e-"));
  const first = model.hosts?.[0]?.name ?? "";
  fs.writeFileSync(path.join(dir, "id_lab"), lab.hostSsh(first).privateKey, { mode: 0o600 });
  const doc: ModelInput = {
    ...model,
    hosts: (model.hosts ?? []).map((h) => {
      const ssh = lab.hostSsh(h.name);
      return { name: h.name, backend, ssh: { host: ssh.host, port: ssh.port, user: ssh.user, privateKeyPath: "./id_lab", hostKey: ssh.hostKey } };
    }),
    endpoints: (model.endpoints ?? []).map((e) => ({ ...e, ips: [lab.endpoint(e.name).ipv4] })),
  };
  const file = path.join(dir, "model.yaml");
  fs.writeFileSync(file, stringify(doc));
  return file;
}
