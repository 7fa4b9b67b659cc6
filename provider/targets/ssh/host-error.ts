/**
 * The one error type of the SSH target. Its message is the whole story for a user reading
 * `pulumi up` output: which host, which step, what went wrong, what to do.
 */
export interface HostErrorDetails {
  /** The host's name in the model (or its address when no name is known). */
  host: string;
  /** The step that failed, e.g. "connect", "host key verification", "nft -c". */
  step: string;
  /** What went wrong (never contains a key, passphrase or password). */
  cause: string;
  /** What to do about it. */
  hint?: string;
  /**
   * The client stopped waiting for a command (its time bound) and the host has ended it by now:
   * it may or may not have done its work, and does nothing more.
   */
  cutOff?: true;
}

export class HostError extends Error {
  readonly host: string;
  readonly step: string;
  readonly causeText: string;
  readonly hint?: string;
  readonly cutOff?: true;

  constructor(details: HostErrorDetails) {
    super(
      `host ${details.host}: ${details.step} failed: ${details.cause.trim()}` + (details.hint ? `. ${details.hint}` : ''),
    );
    this.name = 'HostError';
    this.host = details.host;
    this.step = details.step;
    this.causeText = details.cause;
    this.hint = details.hint;
    if (details.cutOff) this.cutOff = true;
  }
}

/** Error text of anything thrown, with the given secrets removed. */
export function describeCause(err: unknown, secrets: ReadonlyArray<string | undefined> = []): string {
  let text = err instanceof Error ? err.message : String(err);
  for (const secret of secrets) {
    if (secret && secret.length >= 4) text = text.split(secret).join('[secret]');
  }
  return text;
}

/** The fix for a host command that lacks rights: the packet filter needs CAP_NET_ADMIN. */
export const RIGHTS_HINT = 'Is the tool installed, and may the user change the packet filter (CAP_NET_ADMIN)? Log in as root, or set sudo: true with password-less sudo (NOPASSWD)';
