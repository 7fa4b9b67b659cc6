/** Where the command writes, so it can run in-process in tests. */
export interface CliIo {
  out(text: string): void;
  err(text: string): void;
  /** Writes text as it is (no line break added): output streamed in pieces; resolves when it may take more. */
  write(text: string): void | Promise<void>;
  /** Environment read at call time. */
  env: Record<string, string | undefined>;
  cwd: string;
  /** Calls `handler` once when the user asks a long-running command to stop (SIGINT, SIGTERM). */
  onStop?(handler: () => void): void;
}

/** A reader that stops early (`netpol reach … | head`) closes the pipe: stop there with exit 0, not a stack trace. */
function endOnClosedPipe(e: NodeJS.ErrnoException): void {
  if (e.code !== "EPIPE") throw e;
  process.exit(0);
}

export const processIo = (): CliIo => {
  process.stdout.on("error", endOnClosedPipe);
  return {
    out: (t) => process.stdout.write(t.endsWith("\n") ? t : `${t}\n`),
    err: (t) => process.stderr.write(t.endsWith("\n") ? t : `${t}\n`),
    write: (t) => (process.stdout.write(t) ? undefined : new Promise<void>((resolve) => process.stdout.once("drain", () => resolve()))),
    env: process.env,
    cwd: process.cwd(),
    onStop: (handler) => {
      const once = (): void => {
        process.off("SIGINT", once);
        process.off("SIGTERM", once);
        handler();
      };
      process.on("SIGINT", once);
      process.on("SIGTERM", once);
    },
  };
};

export const EXIT = { ok: 0, invalid: 1, usage: 2 } as const;
