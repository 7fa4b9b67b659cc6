/**
 * The Network dynamic provider. A plain object: Pulumi serializes it into source text, so it holds
 * no clients or state and loads its operations (network-operations.ts) when a method runs.
 *
 * `networkProviderWith` is for tests only: it names a module whose `hostDriver` export stands in
 * for the SSH hosts (a plain string, so it serializes as a literal). Nothing in the environment
 * can change what the provider loads.
 */
import type * as pulumi from "@pulumi/pulumi";
import type { HostDriver } from "../deploy/hosts/driver";
import { loadModule } from "./loader";

type Operations = typeof import("./network-operations");
type Props = Record<string, unknown>;

export interface NetworkProviderOptions {
  /** Absolute path of a module exporting `hostDriver: HostDriver` (tests without the namespace lab). */
  hostDriverModule?: string;
}

export function networkProviderWith(options: NetworkProviderOptions = {}): pulumi.dynamic.ResourceProvider {
  const driverModule = options.hostDriverModule;
  const ops = () => loadModule<Operations>("resources/network-operations");
  const driver = (): HostDriver | undefined => {
    if (driverModule === undefined) return undefined;
    const load: (id: string) => unknown = require;
    return (load(driverModule) as { hostDriver: HostDriver }).hostDriver;
  };
  return {
    async check(_olds: Props, news: Props) {
      return ops().checkNetworkLive(news);
    },
    async diff(_id: string, olds: Props, news: Props) {
      return ops().diffNetwork(olds, news);
    },
    async create(inputs: Props) {
      return ops().createNetwork(inputs, driver());
    },
    async update(id: string, olds: Props, news: Props) {
      return ops().updateNetwork(id, olds, news, driver());
    },
    async read(id: string, props: Props) {
      return ops().readNetwork(id, props, driver());
    },
    async delete(_id: string, props: Props) {
      await ops().deleteNetwork(props, driver());
    },
  };
}

export const networkProvider: pulumi.dynamic.ResourceProvider = networkProviderWith();
