/**
 * Adapter benchmark (issue 3), pure JS, no ONNX session: what serving an adapter costs before the
 * graph runs. For one architecture (default: hidden 1024, intermediate 2816, 16 heads, 4 kv heads,
 * head_dim 64, 4 layers), on r=16 adapters over all seven projections written as PEFT files (BF16):
 *
 * - `prepare_ms`: adapter_config.json + adapter_model.safetensors bytes → validated → prepared feeds
 * - `serialize_ms` / `deserialize_ms`, `stored_bytes`: the compact stored form (R2 and the warm
 *   tier) and re-assembling feeds from it (a warm-tier hit)
 * - `compose3_ms`: weighted composition of three cached adapters (fresh feeds every call)
 * - `cache_lookup_ms`: per request, alternating two cached adapters: cache lease + feeds, before the
 *   engine copies them into ORT's heap (bench/engine.ts `hot_switch_ms` includes that copy)
 * - `adapter_bytes`: one adapter's prepared feeds (the hot tier's entry)
 * - `cache_50_bytes`: 50 adapters in the warm tier (stored forms) plus the default hot tier budget
 *
 * `npx tsx bench/adapters.ts [--json]`
 */
import { fileURLToPath } from "node:url";
import { AdapterCache } from "../src/adapters/cache.ts";
import { composeAdapters } from "../src/adapters/compose.ts";
import { loadPeftAdapter } from "../src/adapters/load-peft.ts";
import { projectionModule } from "../src/adapters/modules.ts";
import { deserializePreparedAdapter, prepareAdapter, serializePreparedAdapter, type PreparedAdapter } from "../src/adapters/prepare.ts";
import { encodeFloats, serializeSafetensors, type TensorInput } from "../src/adapters/safetensors.ts";
import { PROJECTIONS, projectionShape, type Architecture } from "../src/runtime/manifest.ts";
import { seededNormal } from "../src/runtime/random.ts";
import { limitsSchema } from "../src/pipeline/limits.ts";
import { median } from "./stats.ts";

export const DEFAULT_BENCH_ARCH: Architecture = {
  family: "llama", model_type: "llama", vocab_size: 32000, hidden_size: 1024, intermediate_size: 2816, num_hidden_layers: 4,
  num_attention_heads: 16, num_key_value_heads: 4, head_dim: 64, max_position_embeddings: 2048, rope_theta: 10000,
  rms_norm_eps: 1e-5, tie_word_embeddings: false, attention_bias: false,
};

/** PEFT files of a random rank-`r` adapter on all seven projections of every layer, saved in BF16. */
export function randomPeftFiles(arch: Architecture, r: number, seed: number): { config: string; weights: Uint8Array } {
  const normal = seededNormal(seed);
  const tensors: Record<string, TensorInput> = {};
  for (let l = 0; l < arch.num_hidden_layers; l++) {
    for (const p of PROJECTIONS) {
      const { in: n, out } = projectionShape(arch, p);
      const rand = (count: number) => encodeFloats(Float32Array.from({ length: count }, () => 0.02 * normal()), "BF16");
      tensors[`base_model.model.${projectionModule(l, p)}.lora_A.weight`] = { dtype: "BF16", shape: [r, n], data: rand(r * n) };
      tensors[`base_model.model.${projectionModule(l, p)}.lora_B.weight`] = { dtype: "BF16", shape: [out, r], data: rand(out * r) };
    }
  }
  const config = { peft_type: "LORA", r, lora_alpha: 2 * r, target_modules: [...PROJECTIONS], bias: "none", task_type: "CAUSAL_LM" };
  return { config: JSON.stringify(config), weights: serializeSafetensors(tensors, { format: "pt" }) };
}

function time(runs: number, f: () => void): number {
  const ms: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    f();
    ms.push(performance.now() - t0);
  }
  return median(ms);
}

/**
 * @example const figures = await benchAdapters(manifest.architecture); // { prepare_ms: 61.2, cache_lookup_ms: 0.0004, … }
 */
export async function benchAdapters(arch: Architecture = DEFAULT_BENCH_ARCH): Promise<Record<string, number>> {
  const files = [1, 2, 3].map((seed) => randomPeftFiles(arch, 16, seed));
  let prepared: PreparedAdapter[] = [];
  const prepare_ms = time(5, () => {
    prepared = files.map((f) => prepareAdapter(loadPeftAdapter(f, arch), arch));
  }) / files.length;
  const [a, b, c] = prepared as [PreparedAdapter, PreparedAdapter, PreparedAdapter];
  const peftA = loadPeftAdapter(files[0]!, arch);

  let stored: Uint8Array = new Uint8Array(0);
  const serialize_ms = time(5, () => (stored = serializePreparedAdapter(a, arch, peftA)));
  const deserialize_ms = time(5, () => deserializePreparedAdapter(stored, arch));

  const compose3_ms = time(10, () => composeAdapters(arch, [{ adapter: a, weight: 0.5 }, { adapter: b, weight: 0.3 }, { adapter: c, weight: 0.2 }]));

  // Cache lookup: two adapters resident in the cache, requests alternate between them.
  const cache = new AdapterCache({ maxBytes: 4 * a.bytes });
  await cache.get("a", async () => a);
  await cache.get("b", async () => b);
  const requests = 2000;
  const t0 = performance.now();
  for (let i = 0; i < requests; i++) {
    const lease = await cache.acquire(i % 2 ? "b" : "a", async () => a);
    const feeds = composeAdapters(arch, [{ adapter: lease.adapter, weight: 1 }]);
    if (feeds.layers.length !== arch.num_hidden_layers) throw new Error("bad feeds");
    lease.release();
  }
  const cache_lookup_ms = (performance.now() - t0) / requests;

  // 50 cached adapters: their stored forms in the warm tier, plus a full hot tier (default budget)
  const fifty = new AdapterCache<{ bytes: number }>({ maxBytes: Number.MAX_SAFE_INTEGER });
  for (let i = 0; i < 50; i++) await fifty.get(`adapter-${i}`, async () => ({ data: stored.slice(), bytes: stored.byteLength }));
  const hotBudget = limitsSchema.parse({}).ADAPTER_HOT_BYTES;

  return {
    prepare_ms,
    serialize_ms,
    deserialize_ms,
    compose3_ms,
    cache_lookup_ms,
    peft_file_bytes: files[0]!.weights.byteLength,
    stored_bytes: stored.byteLength,
    adapter_bytes: a.bytes,
    cache_50_bytes: fifty.stats().bytes + hotBudget,
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const figures = await benchAdapters();
  if (process.argv.includes("--json")) console.log(JSON.stringify(figures));
  else for (const [k, v] of Object.entries(figures)) console.log(`${k.padEnd(18)} ${k.endsWith("bytes") ? `${(v / 2 ** 20).toFixed(2)} MiB` : `${v.toFixed(4)} ms`}`);
}
