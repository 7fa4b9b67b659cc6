/** `netpol view FILE [--diff OLD] --out FILE.html`: the class-level matrix as a self-contained page. */
import { promises as fs } from "node:fs";
import * as path from "node:path";
import { viewData } from "../../analyze/view";
import { viewPage } from "../../analyze/view-page";
import { compile } from "../../compile";
import { InputError } from "../../model/errors";
import { single, UsageError } from "../args";
import { Command } from "../command";
import { EXIT } from "../io";
import { loadModelFile } from "../load";

export const viewCommand: Command = {
  name: "view",
  summary: "write the reachability matrix as one self-contained HTML page (heat map per protocol)",
  help: `Usage: netpol view FILE [--diff OLD] --out FILE.html

Writes one HTML file that needs nothing else (no network, no CDN): per protocol a heat map of
the groups of endpoints treated alike (rows: from, columns: to; the colour is the share of the
protocol's ports or ICMP types allowed). Hovering a cell shows its verdicts and deciding rules;
clicking it lists them for every protocol, with the endpoints of its row and column.

  --out F      the HTML file to write (required; replaced if it exists)
  --diff OLD   also read the model file OLD and mark the cells whose verdict changed: opened
               (something now allowed) and closed (something now denied), with the changes in
               the words of "netpol diff OLD FILE"`,
  options: { diff: { value: true }, out: { value: true } },
  positional: 1,
  async run(args, io) {
    const out = single(args, "out");
    if (out === undefined) throw new UsageError('--out is required (e.g. --out policy.html)');
    const file = args.positional[0];
    const oldFile = single(args, "diff");
    const after = compile(await loadModelFile(file, io.cwd));
    const before = oldFile === undefined ? undefined : compile(await loadModelFile(oldFile, io.cwd));
    const title = oldFile === undefined ? path.basename(file) : `${path.basename(oldFile)} → ${path.basename(file)}`;
    const page = viewPage(viewData(title, after, before));
    try {
      await fs.writeFile(path.resolve(io.cwd, out), page);
    } catch (e) {
      const why = (e as NodeJS.ErrnoException).code === "ENOENT" ? "its folder does not exist" : "it is not writable";
      throw new InputError(out, [{ path: "", message: `cannot write the page: ${why}; give --out a path in an existing, writable folder` }]);
    }
    io.out(`${out}: ${(Buffer.byteLength(page) / 1024).toFixed(0)} KiB`);
    return EXIT.ok;
  },
};
