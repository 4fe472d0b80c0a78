/**
 * The types every layer shares: what `createApp` is handed (`AppDeps`, `AdminDeps`), what a chat
 * request's routing decided (`AdapterSelection`), and Hono's context variables (`AppEnv`). They sit
 * below `app.ts`, `routes/` and `pipeline/`, so none of those imports another for its types.
 */
import type { Engine } from "./runtime/engine.ts";
import type { LoraFeeds } from "./runtime/lora-feeds.ts";
import type { Limits } from "./pipeline/limits.ts";
import type { ChatMessage, ModelChoice } from "./pipeline/chat-input.ts";
import type { Admission } from "./pipeline/admission.ts";
import type { ModelManifest } from "./runtime/manifest.ts";
import type { AdapterManifest, AdapterRegistry } from "./registry/types.ts";
import type { UploadBase } from "./registry/upload.ts";
import type { RouteRequest, RouteResult } from "./pipeline/routing.ts";

/** What routing and adapter resolution decided for one request. */
export type AdapterSelection = {
  reason: "base" | "explicit" | "classifier" | "fallback";
  domain?: string;
  confidence?: number;
  /** `name@version`, or a `+`-joined list for compositions */
  adapterLabel?: string;
  lora?: LoraFeeds;
  loadMs: number;
  /** Called when generation ends, so the adapter cache may evict what this request used. */
  release?: () => void;
};

export type ModelCard = { id: string; object: "model"; created: number; owned_by: string; parent: string | null; root: string };

export type AppDeps = {
  /** The engine, created once per isolate on first use. */
  engine(): Promise<Engine>;
  limits: Limits;
  /** Route a chat request to adapters (or none). */
  selectAdapters(req: ModelChoice, messages: ChatMessage[], engine: Engine): Promise<AdapterSelection>;
  /** This isolate's (or process's) generation memory budget: every chat request is admitted through it. */
  admission: Admission;
  /** Adapters to list in `/v1/models` besides the base. */
  listAdapterModels(): Promise<ModelCard[]>;
  /** The registry and admin API (`/v1/adapters`, `/v1/domains`); absent = those routes answer 404. */
  admin?: AdminDeps;
  /** The routing decision without generating (`POST /v1/route`); absent = 404. */
  route?(req: RouteRequest): Promise<RouteResult>;
  /** The served model package for browsers (`/v1/model-package`); absent = 404. */
  modelPackage?: PackageDeps;
  /** An adapter version's stored prepared form (`/v1/adapter-feeds/{model}`); absent = 404. */
  preparedAdapter?(model: string): Promise<{ adapter: AdapterManifest; data: Uint8Array }>;
};

/**
 * Where the model package for browsers is read from: the served package itself, or one of the same
 * base identity in a format browsers run better (the Node host's 4-bit package beside its fp32).
 */
export type PackageDeps = {
  /** `json`: the manifest file's JSON as written (browsers hash it against `hash`); `manifest`: validated */
  manifest(): Promise<{ manifest: ModelManifest; hash: string; baseId: string; json: unknown }>;
  /** One file of the package as its store answers it; `range` (a `Range` header value) asks for part of it (206). */
  file(path: string, range?: string): Promise<Response>;
};

/** What the admin API needs. */
export type AdminDeps = {
  registry: AdapterRegistry;
  /** The `ADMIN_TOKEN` secret; undefined refuses every admin call (401). */
  token: string | undefined;
  /** The served base, for validating and preparing uploads (no inference session needed). */
  base(): Promise<UploadBase>;
  /** Refuse a domain's examples before anything is stored (the router learns them). */
  checkDomainExamples(domain: string, examples: string[]): Promise<void>;
};

export type AppEnv = { Variables: { deps: AppDeps } };
