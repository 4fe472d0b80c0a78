/**
 * The domain router as a request sees it: the trained artifact (models/router) plus every domain
 * registered with examples in the registry, learnt in registration order. Each isolate rebuilds
 * the same router whenever the stored examples change (one D1 read per routed request tells it),
 * so a domain registered through any isolate routes everywhere from the next request on.
 */
import { LoraEdgeError } from "../errors.ts";
import { loadRouter } from "../router/artifact.ts";
import { routeMessages, type RoutableMessage, type RoutingDecision } from "../router/decision.ts";
import { addDomain } from "../router/domains.ts";
import type { Router } from "../router/router.ts";
import { parseAdapterRef, type AdapterManifest, type AdapterRegistry, type DomainMapping, type RoutingTable } from "../registry/types.ts";

/** Body of `POST /v1/route`: a conversation or one text, and optionally chat's `model`. */
export type RouteRequest = { messages?: RoutableMessage[]; text?: string; model?: string };
/** The decision plus where it leads: the mapped adapter (`name@version`) or null for the base model. */
export type RouteResult = RoutingDecision & { adapter: string | null };

/** A decision for `model: "auto"` and the mapping it leads to (undefined when it leads to the base). */
export type AutoRoute = { decision: RoutingDecision; mapping: DomainMapping | undefined };

/**
 * @example
 * const router = new DomainRouter(() => artifactJson, registry);
 * const { decision, mapping } = await router.auto([{ role: "user", content: "where is my parcel?" }]);
 */
export class DomainRouter {
  private base: Router | undefined;
  private learnt: { signature: string; router: Promise<Router> } | undefined;

  constructor(
    private readonly artifact: () => unknown,
    private readonly registry: AdapterRegistry,
  ) {}

  /** Classify a conversation; a domain below its threshold, or without a mapping, goes to the base. */
  async auto(messages: readonly RoutableMessage[]): Promise<AutoRoute> {
    const table = await this.registry.routingTable();
    const router = await this.routerFor(table);
    const thresholds: Record<string, number> = {};
    for (const m of table.mappings) if (m.threshold !== null) thresholds[m.domain] = m.threshold;
    const decision = routeMessages(router, messages, { thresholds });
    const mapping = decision.domain === null ? undefined : table.mappings.find((m) => m.domain === decision.domain);
    return { decision, mapping };
  }

  /**
   * Refuse examples the router cannot learn (too few, bad name…) by learning them on a copy.
   *
   * @example await router.check("legal", twentyExamples) // throws LoraEdgeError(400, "too_few_examples") for 5
   */
  async check(domain: string, examples: string[]): Promise<void> {
    addDomain(await this.routerFor(await this.registry.routingTable()), domain, examples);
  }

  private routerFor(table: RoutingTable): Promise<Router> {
    if (this.learnt?.signature !== table.examplesSignature) {
      const router = this.build().catch((err) => {
        this.learnt = undefined;
        throw err;
      });
      this.learnt = { signature: table.examplesSignature, router };
    }
    return this.learnt.router;
  }

  private async build(): Promise<Router> {
    this.base ??= loadRouter(this.artifact());
    let router = this.base;
    for (const d of await this.registry.domainExamples()) router = addDomain(router, d.domain, d.examples);
    return router;
  }
}

/**
 * `POST /v1/route`: what chat would do with these messages and `model`, without generating.
 *
 * @example await routeRequest(router, registry, { text: "how much is pro?" }) // { domain: "sales", confidence: 0.93, reason: "classifier", adapter: "sales-demo@1", … }
 */
export async function routeRequest(router: DomainRouter, registry: AdapterRegistry, req: RouteRequest, baseName: string): Promise<RouteResult> {
  const messages = req.messages ?? [{ role: "user", content: req.text ?? "" }];
  const model = req.model ?? "auto";
  if (model === "auto") {
    const { decision, mapping } = await router.auto(messages);
    return { ...decision, adapter: mapping ? `${mapping.adapter}@${mapping.version}` : null };
  }
  if (model === "base" || model === baseName) return { domain: null, confidence: 1, scores: {}, reason: "explicit", adapter: null };
  const adapter = await resolveModel(registry, model);
  return { domain: null, confidence: 1, scores: {}, reason: "explicit", adapter: adapter.id };
}

/**
 * The adapter version chat's `model` names (`name` = latest, `name@version`); 404 `model_not_found` otherwise.
 *
 * @example await resolveModel(registry, "support@2") // { name: "support", version: 2, … }
 */
export async function resolveModel(registry: AdapterRegistry, model: string, param = "model"): Promise<AdapterManifest> {
  const notFound = () => new LoraEdgeError(404, "model_not_found", `The model \`${model}\` does not exist`, { param });
  let ref: { name: string; version?: number };
  try {
    ref = parseAdapterRef(model, param);
  } catch {
    throw notFound(); // "name@latest" and the like name no model
  }
  const found = await registry.resolve(ref.name, ref.version);
  if (!found) throw notFound();
  return found;
}
