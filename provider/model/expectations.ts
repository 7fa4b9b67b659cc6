/**
 * Policy tests: expectations about who may reach whom (`netpol test FILE EXPECT.yaml`, and the
 * Network resource's `expect`). Each names sources, destinations, a probe or ports, and a verdict.
 */
import { z } from "zod";
import { labels } from "./common";

export interface EndpointSelectorInput {
  namespace?: string;
  labels?: Record<string, string>;
  not?: SelectorInput;
}

/** A name or glob, an object selector, or a list of them (any may match). */
export type SelectorInput = string | EndpointSelectorInput | SelectorInput[];

/**
 * Endpoints: a name, a glob over names (`stack_one/*`, `*`), `{namespace?, labels?, not?}`
 * (every given part must hold; `not` excludes what its selector selects), or a list of these
 * (an endpoint any of them selects).
 */
export const EndpointSelector: z.ZodType<SelectorInput> = z.lazy(() => z.union([
  z.array(EndpointSelector).min(1),
  z.string().min(1, "an endpoint name or a glob such as stack_one/*"),
  z.object({
    namespace: z.string().min(1).optional(),
    labels: labels.optional(),
    not: EndpointSelector.optional(),
  }).strict(),
]));

const PORTS = /^(tcp|udp|sctp|icmp|icmpv6)(?:\/(\d{1,5})(?:-(\d{1,5}))?(?:\/(\d{1,3}))?)?$/i;

/** `tcp/5432`, `tcp/8000-8080`, `tcp` (every port), `icmp/8`, `icmp/3/1`, `icmp` (every type). */
export const PortsText = z.string().regex(PORTS, 'write PROTOCOL[/PORT[-PORT]] (e.g. "tcp/5432", "tcp/8000-8080", "udp", "icmp/8")');

export const Expectation = z.object({
  /** Shown when the expectation fails. @default "expect[i]" */
  name: z.string().min(1).max(200).optional(),
  from: EndpointSelector,
  to: EndpointSelector,
  /** One probe (`tcp/5432`, `icmp/8`); or give `ports`. */
  probe: z.string().optional(),
  /** Protocols and port ranges; every value in them must have the verdict. */
  ports: z.array(PortsText).min(1).optional(),
  verdict: z.enum(["allow", "deny"]),
}).strict().superRefine((e, ctx) => {
  if ((e.probe === undefined) === (e.ports === undefined)) ctx.addIssue({ code: "custom", message: "give either probe or ports" });
});
export type Expectation = z.infer<typeof Expectation>;

export const Expectations = z.array(Expectation);
