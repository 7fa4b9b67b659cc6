/** `netpol test FILE EXPECT.yaml`: checks expectations about who may reach whom. */
import { checkExpectations, formatFailure } from "../../analyze/expectations";
import { compile } from "../../compile";
import { InputError, issuesFromZod } from "../../model/errors";
import { Expectation, Expectations } from "../../model/expectations";
import { parseUserYaml } from "../../model/model";
import { single, UsageError } from "../args";
import { Command } from "../command";
import { EXIT } from "../io";
import { loadModelFile, readUserFile } from "../load";

async function loadExpectations(file: string, cwd: string): Promise<Expectation[]> {
  const doc = parseUserYaml(await readUserFile(file, cwd), file);
  const result = Expectations.safeParse(doc);
  if (!result.success) throw new InputError(file, issuesFromZod(result.error));
  return result.data;
}

export const testCommand: Command = {
  name: "test",
  summary: "check expectations about who may reach whom (exit 1 when one fails)",
  help: `Usage: netpol test FILE EXPECT.yaml [--format text|json]

EXPECT.yaml is a list of expectations:

  - name: the web tier reaches the database     # optional, shown when it fails
    from: web/*                                  # a name, a glob over names, or
    to: { namespace: db, labels: { app: postgres } }   # {namespace?, labels?, not?}
    probe: tcp/5432                              # or ports: [tcp/5432, tcp/8000-8080, udp, icmp/8]
    verdict: allow                               # or deny

Every pair of distinct endpoints the selectors expand to is checked, on every value of the
ports. Prints one line per failed expectation: a failing flow, the expected and actual verdict and
the deciding rule; exits 1 when any fails.

  --format F   "text" (default) or "json": {"checked":N,"failures":[…]}`,
  options: { format: { value: true } },
  positional: 2,
  async run(args, io) {
    const format = single(args, "format") ?? "text";
    if (format !== "text" && format !== "json") throw new UsageError(`--format must be "text" or "json", not "${format}"`);
    const [file, expectFile] = args.positional;
    const model = await loadModelFile(file, io.cwd);
    const expectations = await loadExpectations(expectFile, io.cwd);
    const report = checkExpectations(model, compile(model), expectations);
    if (format === "json") io.out(JSON.stringify(report, null, 2));
    else {
      for (const f of report.failures) io.out(formatFailure(f));
      io.out(`${report.checked - report.failures.length} of ${report.checked} expectation(s) hold`);
    }
    return report.failures.length > 0 ? EXIT.invalid : EXIT.ok;
  },
};
