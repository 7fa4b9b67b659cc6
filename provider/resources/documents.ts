/**
 * The Profile, Policy and NetworkPolicy dynamic providers: plain objects (serialized by Pulumi)
 * that load documents-impl.ts when a method runs.
 */
import type * as pulumi from "@pulumi/pulumi";
import type { DocumentKind } from "./documents-impl";
import { loadModule } from "./loader";

type Impl = typeof import("./documents-impl");
type Props = Record<string, unknown>;

function documentProvider(kind: DocumentKind): pulumi.dynamic.ResourceProvider {
  return {
    async check(_olds: Props, news: Props) {
      return loadModule<Impl>("resources/documents-impl").checkDocument(kind, news);
    },
    async diff(_id: string, olds: Props, news: Props) {
      return loadModule<Impl>("resources/documents-impl").diffDocument(kind, olds, news);
    },
    async create(inputs: Props) {
      return loadModule<Impl>("resources/documents-impl").createDocument(kind, inputs);
    },
    async update(_id: string, _olds: Props, news: Props) {
      return loadModule<Impl>("resources/documents-impl").updateDocument(kind, news);
    },
    async read(id: string, props: Props) {
      return loadModule<Impl>("resources/documents-impl").readDocument(kind, id, props);
    },
    async delete(_id: string, props: Props) {
      await loadModule<Impl>("resources/documents-impl").deleteDocument(kind, props);
    },
  };
}

export const profileProvider = documentProvider("profile");
export const policyProvider = documentProvider("policy");
export const networkPolicyProvider = documentProvider("networkPolicy");
