/**
 * The registry's contracts: what a registered adapter version is (its manifest), what a domain
 * mapping is, and the small interface routes and the chat pipeline use to reach storage.
 */
import { z } from "zod";
import { LoraEdgeError } from "../errors.ts";

/** A registered adapter version, as `PUT /v1/adapters/{name}` answers and `GET` lists it. */
export type AdapterManifest = {
  object: "adapter";
  name: string;
  version: number;
  /** `name@version`, what chat's `model` field and the `x-lora-adapter` header use */
  id: string;
  /** Manifest hash of the base the adapter was validated and prepared against. */
  base_model_hash: string;
  /** Largest module rank. */
  rank: number;
  alpha: number;
  targets: string[];
  dtype: string;
  dora: boolean;
  /** adapter_config.json + adapter_model.safetensors */
  bytes: number;
  /** sha256 of adapter_model.safetensors */
  sha256: string;
  config_sha256: string;
  prepared: { sha256: string; bytes: number };
  /** ISO 8601 */
  created: string;
};

/** The domain → adapter mapping (`PUT /v1/domains/{domain}`). */
export type DomainMapping = {
  object: "domain";
  domain: string;
  adapter: string;
  version: number;
  /** Router confidence below which this domain goes to the base model; null = the router's default. */
  threshold: number | null;
  /** How many example messages taught the router this domain at run time (0 = a trained domain). */
  examples: number;
  updated: string;
};

export type RoutingTable = { mappings: DomainMapping[]; examplesSignature: string };

/** A domain's stored examples, for rebuilding the router (in registration order). */
export type DomainExamples = { domain: string; examples: string[]; sha256: string };

/** Everything validated and ready to store for one upload (see `prepareUpload`). */
export type PreparedUpload = {
  name: string;
  summary: Pick<AdapterManifest, "base_model_hash" | "rank" | "alpha" | "targets" | "dtype" | "dora" | "bytes">;
  config: Blob;
  weights: Blob;
  prepared: Blob;
};
export type Blob = { bytes: Uint8Array; sha256: string };

/**
 * Adapter metadata, versions and domain mapping (strongly consistent) plus blobs.
 *
 * @example
 * const m = await registry.register(await prepareUpload("support", files, base, limits)); // { name: "support", version: 3, … }
 * await registry.mapDomain("support", { adapter: "support" });
 */
export interface AdapterRegistry {
  /** Store the blobs, then the next version's row; leaves storage unchanged if it throws. */
  register(upload: PreparedUpload): Promise<AdapterManifest>;
  /** Every version of every adapter, by name then version. */
  list(): Promise<AdapterManifest[]>;
  /** Every version of one adapter (empty if none). */
  versions(name: string): Promise<AdapterManifest[]>;
  /** One version, or the latest when `version` is undefined; null if none. */
  resolve(name: string, version?: number): Promise<AdapterManifest | null>;
  /** Delete one version or all; 404 if none, 409 while a domain maps to one of them. */
  delete(name: string, version?: number): Promise<AdapterManifest[]>;
  /** Map a domain (create or replace); 404 if the adapter version does not exist. */
  mapDomain(domain: string, to: { adapter: string; version?: number; threshold?: number | null; examples?: string[] | null }): Promise<DomainMapping>;
  domains(): Promise<DomainMapping[]>;
  /** Every mapping plus a signature of the stored examples (changes whenever the router must relearn), in one read. */
  routingTable(): Promise<RoutingTable>;
  domain(domain: string): Promise<DomainMapping | null>;
  /** Whether a mapping was removed. */
  unmapDomain(domain: string): Promise<boolean>;
  /** Domains registered with examples, in registration order. */
  domainExamples(): Promise<DomainExamples[]>;
  /** The stored runtime form of an adapter version. */
  readPrepared(adapter: AdapterManifest): Promise<Uint8Array>;
}

/** Adapter names: URL- and header-safe, no `@` (it separates the version). */
export const adapterNameSchema = z.string().regex(/^[a-z0-9][a-z0-9._-]{0,63}$/, "adapter names are 1–64 of a-z 0-9 . _ -, starting with a letter or digit");
/** Same rule as the router's domain names. */
export const domainNameSchema = z.string().regex(/^[a-z][a-z0-9_-]{0,47}$/, "domain names are 1–48 of a-z 0-9 _ -, starting with a letter");

/**
 * Split `name` or `name@version` (as chat's `model` and `DELETE /v1/adapters/{ref}` take it).
 *
 * @example parseAdapterRef("support@3") // { name: "support", version: 3 }
 */
export function parseAdapterRef(ref: string, param = "model"): { name: string; version?: number } {
  const at = ref.lastIndexOf("@");
  if (at < 0) return { name: ref };
  const v = ref.slice(at + 1);
  if (!/^[1-9]\d{0,8}$/.test(v)) throw new LoraEdgeError(400, "invalid_adapter_ref", `"${ref}": the version after @ must be a positive integer`, { param });
  return { name: ref.slice(0, at), version: Number(v) };
}
