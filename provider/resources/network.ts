/**
 * The Network dynamic provider. A plain object: Pulumi serializes it into source text, so it holds
 * no clients or state and loads its implementation (network-impl.ts) when a method runs.
 */
import type * as pulumi from "@pulumi/pulumi";
import { loadModule } from "./loader";

type Impl = typeof import("./network-impl");

export const networkProvider: pulumi.dynamic.ResourceProvider = {
  async check(_olds: Record<string, unknown>, news: Record<string, unknown>) {
    return loadModule<Impl>("resources/network-impl").checkNetwork(news);
  },
  async diff(_id: string, olds: Record<string, unknown>, news: Record<string, unknown>) {
    return loadModule<Impl>("resources/network-impl").diffNetwork(olds, news);
  },
  async create(inputs: Record<string, unknown>) {
    return loadModule<Impl>("resources/network-impl").createNetwork(inputs);
  },
  async update(id: string, olds: Record<string, unknown>, news: Record<string, unknown>) {
    return loadModule<Impl>("resources/network-impl").updateNetwork(id, olds, news);
  },
  async read(id: string, props: Record<string, unknown>) {
    return loadModule<Impl>("resources/network-impl").readNetwork(id, props);
  },
  async delete(_id: string, props: Record<string, unknown>) {
    await loadModule<Impl>("resources/network-impl").deleteNetwork(props);
  },
};
