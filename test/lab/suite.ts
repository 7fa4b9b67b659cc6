/**
 * A lab built once for the suite that calls `labForSuite` (in its beforeAll) and destroyed after
 * it, with the specs several suites share. Call it at the top of a file or a describe body.
 */
import { Lab, LabSpec, requireLabPrerequisites } from './lab';

/** One host h1 with endpoints a, b and c listening on tcp/80, IPv4 only (the SSH target's stack models). */
export const ONE_HOST_STACK_LAB: LabSpec = {
  hosts: [{ name: 'h1' }],
  endpoints: ['a', 'b', 'c'].map((name) => ({ name, host: 'h1', listen: { tcp: [80] } })),
  ipv6: false,
};

/** Two hosts and no endpoints: two real sshds with different host keys. */
export const TWO_SSHD_LAB: LabSpec = { hosts: [{ name: 'h1' }, { name: 'h2' }], endpoints: [] };

/** Registers beforeAll/afterAll for a lab of `spec`; the returned function gives it inside tests and hooks. */
export function labForSuite(spec: LabSpec, timeoutMs = 60_000): () => Lab {
  let lab: Lab | undefined;
  beforeAll(async () => {
    await requireLabPrerequisites();
    lab = await Lab.create(spec);
  }, timeoutMs);
  afterAll(async () => {
    await lab?.destroy();
  });
  return () => {
    if (!lab) throw new Error('labForSuite: the lab is read before its beforeAll built it (or building it failed)');
    return lab;
  };
}
