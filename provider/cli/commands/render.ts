/** `netpol render`: the ruleset one host would get, printed, never applied. */
import { compile } from "../../compile";
import { Renderer } from "../../render";
import { single, UsageError } from "../args";
import { Command } from "../command";
import { EXIT } from "../io";
import { loadLiveModel } from "../load";

export const renderCommand: Command = {
  name: "render",
  summary: "print the packet filter ruleset a host would get (nftables or iptables)",
  help: `Usage: netpol render FILE --host H [--hash]

Prints the ruleset for host H exactly as "apply" would install it: for nftables hosts the
"table inet netpol_…" block (the only table the project ever touches), for iptables hosts the
ipset restore input followed by the iptables-restore and ip6tables-restore inputs.

  --host H   the host, by its name under hosts:
  --hash     print only the content hash (what "status" compares)`,
  options: { host: { value: true }, hash: {} },
  positional: 1,
  async run(args, io) {
    const host = single(args, "host");
    if (host === undefined) throw new UsageError("--host is required");
    const ps = compile((await loadLiveModel(args.positional[0], io)).model);
    if (!ps.hosts.some((h) => h.name === host)) {
      throw new UsageError(`--host: no host named "${host}" in the model (hosts: ${ps.hosts.map((h) => h.name).join(", ") || "none"})`);
    }
    const r = new Renderer(ps).renderHost(host);
    if (args.flags.has("hash")) {
      io.out(r.hash);
    } else if (r.nft !== undefined) {
      io.out(r.nft);
    } else if (r.iptables) {
      io.out(`# ipset restore\n${r.iptables.ipset}\n# iptables-restore --noflush\n${r.iptables.v4}\n# ip6tables-restore --noflush\n${r.iptables.v6}`);
    }
    return EXIT.ok;
  },
};
