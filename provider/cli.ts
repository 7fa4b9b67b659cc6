#!/usr/bin/env node
/**
 * The `netpol` command: validate, analyse and render network policy models without touching a host;
 * plan / apply / destroy / status act on the hosts and clusters the model names.
 * Exit codes: 0 success, 1 invalid input (or a failed target), 2 usage error.
 */
import { parseArgs, UsageError } from "./cli/args";
import { commands } from "./cli/commands";
import { CliIo, EXIT, processIo } from "./cli/io";
import { printable } from "./model/echo";
import { InputError } from "./model/errors";
import { didYouMean } from "./model/suggest";
import { ApiError, ClientInputError } from "./targets/api-errors";

function mainHelp(): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return `netpol — network policy as code: Rancher, Calico and Kubernetes policies for container hosts

Usage: netpol <command> FILE [options]

Commands:
${commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`).join("\n")}

plan, apply, destroy and status act on the model's hosts over SSH and, when the model has
cluster: { kubeconfig: PATH, context: NAME }, on that cluster's API (NetworkPolicies and Calico
v3 objects, labelled app.kubernetes.io/managed-by=pulumi-netpolicy; others are never touched),
and with rancher: { url, project, network, accessKeyEnv, secretKeyEnv }, on that Rancher
network's policy.

Run "netpol help <command>" (or "netpol <command> --help") for a command's options.
Exit codes: 0 success, 1 invalid input, a failed host or cluster object or Rancher network (or,
for status, one not in sync), 2 usage error.`;
}

/** `unknown command "vaildate" (did you mean "validate"?)`, and where the list is. */
function unknownCommand(name: string): string {
  return `netpol: unknown command "${name}"${didYouMean(name, commands.map((c) => c.name))}\nRun "netpol --help" for the commands.`;
}

export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "--help" || name === "-h" || (name === "help" && rest.length === 0)) {
    (name === undefined ? io.err : io.out)(mainHelp());
    return name === undefined ? EXIT.usage : EXIT.ok;
  }
  if (name === "help") {
    const topic = commands.find((c) => c.name === rest[0]);
    if (!topic || rest.length > 1) {
      io.err(topic ? 'netpol help: give one command, e.g. "netpol help plan"' : unknownCommand(rest[0]));
      return EXIT.usage;
    }
    io.out(topic.help);
    return EXIT.ok;
  }
  if (name === "--version") {
    io.out("netpol 0.1.0");
    return EXIT.ok;
  }
  const command = commands.find((c) => c.name === name);
  if (!command) {
    io.err(unknownCommand(name));
    return EXIT.usage;
  }
  if (rest.includes("--help") || rest.includes("-h")) {
    io.out(command.help);
    return EXIT.ok;
  }
  try {
    const args = parseArgs(rest, command.options);
    if (args.positional.length !== command.positional) {
      throw new UsageError(command.positional === 1 ? "give exactly one model FILE" : `expected ${command.positional} arguments`);
    }
    return await command.run(args, io);
  } catch (e) {
    // Messages quote user input and remote answers: nothing but a line break reaches the terminal raw.
    const err = (text: string) => io.err(printable(text));
    if (e instanceof UsageError) {
      err(`netpol ${name}: ${e.message}\nRun "netpol ${name} --help" for usage.`);
      return EXIT.usage;
    }
    if (e instanceof InputError) {
      err(e.message);
      return EXIT.invalid;
    }
    // The cluster layer's own errors already name the kubeconfig, context or object.
    if (e instanceof ClientInputError || e instanceof ApiError) {
      err(`netpol ${name}: cluster: ${e.message}`);
      return EXIT.invalid;
    }
    const reported = e as { reportedExit?: number; message?: string };
    if (typeof reported.reportedExit === "number") {
      err(String(reported.message));
      return reported.reportedExit;
    }
    err(`netpol ${name}: internal error: ${e instanceof Error ? e.message : String(e)}`);
    return EXIT.invalid;
  }
}

if (require.main === module) {
  main(process.argv.slice(2), processIo()).then((code) => { process.exitCode = code; });
}
