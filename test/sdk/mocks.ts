/** Pulumi mocks that record what the SDK classes register: inputs as the providers get them. */
import * as pulumi from "@pulumi/pulumi";

/** How a mocked engine shows a secret input. */
export const secret = (value: unknown) => ({ "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", value });

export type Registered = { type: string; name: string; inputs: Record<string, unknown> };
const registered: Registered[] = [];

/** Installs the mocks (call in `beforeAll`, before the SDK is imported). */
export async function recordRegistrations(): Promise<void> {
  await pulumi.runtime.setMocks({
    newResource: (args) => {
      registered.push({ type: args.type, name: args.name, inputs: args.inputs as Record<string, unknown> });
      return { id: `${args.name}-id`, state: { ...args.inputs, document: args.inputs.profileId ? { id: args.inputs.profileId } : undefined } };
    },
    call: () => ({}),
  }, "sdk-test", "dev", false);
}

export function find(name: string): Registered {
  const r = registered.find((x) => x.name === name);
  if (!r) throw new Error(`${name} was not registered: ${registered.map((x) => x.name).join(", ")}`);
  return r;
}

/** Waits until the resources are registered and their inputs resolved. */
export async function registeredAll(...resources: pulumi.Resource[]): Promise<void> {
  await Promise.all(resources.map((r) => new Promise<void>((resolve) => r.urn.apply(() => resolve()))));
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
}
