/**
 * `npm run bench [-- PART… [options]]`: the project's benchmarks, figures printed with their targets.
 * See bench/README.md.
 */
import { analysisBench } from "./analysis";
import { compileBench, DEFAULT_ENDPOINT_COUNTS } from "./compile";
import { convergeBench } from "./converge";
import { incrementalBench } from "./incremental";
import { inputBench } from "./input";
import { exitAfterTeardown, labProblem } from "./lab-support";
import { packetBench } from "./packet";
import { incrementalIptablesBench } from "./incremental-iptables";
import { watchBench } from "./watch";

const HELP = `Usage: npm run bench -- [PART…] [options]

Parts (default: all seven; lab parts are skipped with a message when root or tools are missing):
  compile [N…]   compile + render synthetic fleets of N endpoints on 50 hosts (default ${DEFAULT_ENDPOINT_COUNTS.join(" ")})
  analysis       netpol reach at 3,000 endpoints; diff of two 10,000-endpoint models; test of 100 expectations
                 and the size of netpol view's page for them
  input          hostile documents (deep nesting, 10 MB, a 3 MB value) refused in time
  converge       20 lab hosts / 500 endpoints applied over SSH: parallel vs one host at a time, no-op apply
  watch          netpol watch on two Docker lab hosts: docker run → the new container's rules in place,
                 median and max over 20 containers (target median < 1 s); needs docker.io, busybox-static
  packet         new TCP connections/s and iperf3 throughput between two lab endpoints: no policy,
                 conntrack only, our nftables ruleset (10,000 endpoints / 200 groups), naive
                 one-iptables-rule-per-pair (all pairs: measured pair last / middle; local pairs);
                 the same on Docker lab hosts (a real dockerd each, containers probed from inside):
                 Docker's rules alone, + our table, + the naive list in DOCKER-USER
  incremental    one endpoint joins a group on a lab host holding a 10,000-endpoint fleet's rules:
                 bytes sent and host-side time, incremental (delta) vs full, handles kept;
                 nftables, then iptables + ipset

Options:
  --rounds N     repetitions per lab measurement, medians printed (default: converge 3, packet 9)
  --seconds S    length of each packet sample (default 1)
  --help         this text

The lab parts need root and iproute2, nftables, iptables, ipset, openssh-server, python3 (and iperf3,
docker.io and busybox-static for packet). Exit status: 1 when a part that was asked for by name cannot run or misses a target.`;

type Part = "compile" | "analysis" | "input" | "converge" | "packet" | "watch" | "incremental";
const PARTS: readonly Part[] = ["compile", "analysis", "input", "converge", "packet", "watch", "incremental"];

interface Args {
  parts: Part[];
  explicit: boolean;
  endpointCounts: number[];
  rounds?: number;
  seconds?: number;
}

function usage(message: string): never {
  console.error(`bench: ${message}\n\n${HELP}`);
  process.exit(2);
}

function positive(name: string, text: string | undefined): number {
  const n = Number(text);
  if (text === undefined || !Number.isFinite(n) || n <= 0) usage(`${name} needs a positive number`);
  return n;
}

function parseArgs(argv: readonly string[]): Args {
  const args: Args = { parts: [], explicit: false, endpointCounts: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--help" || a === "-h") {
      console.log(HELP);
      process.exit(0);
    } else if (a === "--rounds") args.rounds = Math.round(positive(a, argv[++i]));
    else if (a === "--seconds") args.seconds = positive(a, argv[++i]);
    else if ((PARTS as readonly string[]).includes(a)) args.parts.push(a as Part);
    else if (/^\d+$/.test(a)) args.endpointCounts.push(Number(a));
    else usage(`unknown argument "${a}"`);
  }
  // Bare numbers alone keep their old meaning: the compile benchmark at those sizes.
  if (args.parts.length === 0 && args.endpointCounts.length > 0) args.parts.push("compile");
  args.explicit = args.parts.length > 0;
  if (!args.explicit) args.parts = [...PARTS];
  if (args.endpointCounts.length > 0 && !args.parts.includes("compile")) usage("endpoint counts belong to the compile part");
  return args;
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  let failed = false;
  for (const part of PARTS.filter((p) => args.parts.includes(p))) {
    if (part === "compile") {
      compileBench(args.endpointCounts.length > 0 ? args.endpointCounts : undefined);
      continue;
    }
    if (part === "analysis") {
      if (!analysisBench() && args.explicit) failed = true;
      continue;
    }
    if (part === "input") {
      if (!(await inputBench()) && args.explicit) failed = true;
      continue;
    }
    const problem = part === "packet" ? await labProblem(["iperf3"], { docker: true }) : await labProblem();
    if (problem) {
      console.log(`\n== ${part}: skipped, the lab cannot run here. ${problem}`);
      if (args.explicit) failed = true;
      continue;
    }
    const met = part === "watch" ? await watchBench()
      : part === "converge" ? await convergeBench({ rounds: args.rounds })
      : part === "incremental" ? [await incrementalBench({ rounds: args.rounds }), (await incrementalIptablesBench({ rounds: args.rounds })).met].every(Boolean)
      : await packetBench({ rounds: args.rounds, seconds: args.seconds });
    // Missed targets are reported in the output; they fail the run only when the part was asked for.
    if (!met && args.explicit) failed = true;
  }
  return failed ? 1 : 0;
}

main().then(
  (code) => exitAfterTeardown(code),
  (err: unknown) => exitAfterTeardown(1, () => console.error(`bench: ${err instanceof Error ? err.stack ?? err.message : String(err)}`)),
);
