/** Shared by the SSH target tests: a lab host as an SshTarget, and the HostError of a rejection. */
import { Lab } from '../../lab/lab';
import { HostError } from '../../../provider/targets/ssh/host-error';
import { SshTarget } from '../../../provider/targets/ssh/connect';

/** Root on a lab host, by key, with its host key pinned and a short connect timeout. */
export function labTarget(lab: Lab, host: string, extra: Partial<SshTarget> = {}): SshTarget {
  const info = lab.hostSsh(host);
  return { host: info.host, port: info.port, user: info.user, privateKey: info.privateKey, hostKey: info.hostKey, connectTimeoutMs: 3000, ...extra };
}

/** The HostError `p` rejects with; fails the test when it resolves or rejects with something else. */
export async function rejection(p: Promise<unknown>): Promise<HostError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(HostError);
    return err as HostError;
  }
  throw new Error('expected a rejection');
}
