/**
 * The Profile, Policy and NetworkPolicy dynamic providers: plain objects (serialized by Pulumi)
 * that load document-operations.ts when a method runs. The three differ only in their kind.
 */
import type * as pulumi from "@pulumi/pulumi";
import type { DocumentKind } from "./document-objects";
import { loadModule } from "./loader";

type Impl = typeof import("./document-operations");
type Props = Record<string, unknown>;

function documentProvider(kind: DocumentKind): pulumi.dynamic.ResourceProvider {
  return {
    async check(_olds: Props, news: Props) {
      return loadModule<Impl>("resources/document-operations").checkDocument(kind, news);
    },
    async diff(_id: string, olds: Props, news: Props) {
      return loadModule<Impl>("resources/document-operations").diffDocument(kind, olds, news);
    },
    async create(inputs: Props) {
      return loadModule<Impl>("resources/document-operations").createDocument(kind, inputs);
    },
    async update(_id: string, _olds: Props, news: Props) {
      return loadModule<Impl>("resources/document-operations").updateDocument(kind, news);
    },
    async read(id: string, props: Props) {
      return loadModule<Impl>("resources/document-operations").readDocument(kind, id, props);
    },
    async delete(_id: string, props: Props) {
      await loadModule<Impl>("resources/document-operations").deleteDocument(kind, props);
    },
  };
}

export const profileProvider = documentProvider("profile");
export const policyProvider = documentProvider("policy");
export const networkPolicyProvider = documentProvider("networkPolicy");
