/**
 * Jest global setup: finds (and unpacks once) the real kube-apiserver binary. Without one the
 * real-API suites do not run and this prints one line saying how to point them at a binary; under
 * `CI=true` that absence fails the run.
 */
import { findKubeBinary, HOW_TO_POINT } from './real-kube-apiserver';

export default function globalSetup(): void {
  const found = findKubeBinary();
  if ('binary' in found) return;
  if (process.env.CI === 'true') throw new Error(`the real Kubernetes API server suites cannot run under CI=true: ${found.missing}; ${HOW_TO_POINT}`);
  process.stdout.write(`\nreal Kubernetes API server suites did not run (${found.missing}): ${HOW_TO_POINT}\n`);
}
