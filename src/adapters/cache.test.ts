import { describe, expect, it } from "vitest";
import type { Architecture } from "../runtime/manifest.ts";
import { peftConfig, randomPeftTensors, writeSafetensors } from "../../test/reference/hf-checkpoint.ts";
import { AdapterCache } from "./cache.ts";
import { loadPeftAdapter } from "./load-peft.ts";
import { prepareAdapter, type PreparedAdapter } from "./prepare.ts";

const arch: Architecture = {
  family: "llama", model_type: "llama", vocab_size: 32, hidden_size: 32, intermediate_size: 48, num_hidden_layers: 2,
  num_attention_heads: 4, num_key_value_heads: 2, head_dim: 8, max_position_embeddings: 64, rope_theta: 10000,
  rms_norm_eps: 1e-5, tie_word_embeddings: false, attention_bias: false,
};

/** A real prepared adapter; every one made with the same r has the same byte size. */
function adapter(seed: number, r = 4): PreparedAdapter {
  const tensors = randomPeftTensors(arch, { r, targets: ["q_proj", "down_proj"], seed });
  const weights = writeSafetensors(Object.fromEntries([...tensors].map(([k, t]) => [k, { dtype: "F32" as const, dims: t.dims, data: Float32Array.from(t.data) }])));
  return prepareAdapter(loadPeftAdapter({ config: peftConfig({ r, target_modules: ["q_proj", "down_proj"] }), weights }, arch), arch);
}

const size = adapter(0).bytes;
const loader = (id: string, loads: string[]) => async () => {
  loads.push(id);
  return adapter(Number(id.replace(/\D/g, "")) || 1);
};

/** A load that finishes when the test says so. */
function deferred() {
  let resolve!: (a: PreparedAdapter) => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<PreparedAdapter>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}

describe("AdapterCache", () => {
  it("evicts the least recently used adapter first and counts bytes exactly", async () => {
    const cache = new AdapterCache({ maxBytes: 3 * size });
    const loads: string[] = [];
    for (const id of ["a1", "a2", "a3"]) await cache.get(id, loader(id, loads));
    expect(cache.stats()).toMatchObject({ bytes: 3 * size, entries: 3, evictions: 0 });
    await cache.get("a1", loader("a1", loads)); // a1 becomes most recent: a2 is now the oldest
    await cache.get("a4", loader("a4", loads));
    expect(["a1", "a2", "a3", "a4"].map((id) => cache.has(id))).toEqual([true, false, true, true]);
    await cache.get("a5", loader("a5", loads));
    expect(["a1", "a3", "a4", "a5"].map((id) => cache.has(id))).toEqual([true, false, true, true]);
    expect(cache.stats()).toMatchObject({ hits: 1, misses: 5, loads: 5, evictions: 2, bytes: 3 * size, entries: 3, overBudget: false });
    expect(loads).toEqual(["a1", "a2", "a3", "a4", "a5"]);
  });

  it("accounts adapters of different sizes by their bytes", async () => {
    const big = adapter(9, 16);
    expect(big.bytes).toBeGreaterThan(3 * size);
    const cache = new AdapterCache({ maxBytes: big.bytes + size });
    await cache.get("small1", async () => adapter(1));
    await cache.get("small2", async () => adapter(2));
    await cache.get("big", async () => big);
    expect(cache.stats()).toMatchObject({ bytes: big.bytes + size, entries: 2, evictions: 1 });
    expect(cache.has("small1")).toBe(false);
  });

  it("single flight: N concurrent gets of a missing id run one load and share its result", async () => {
    const cache = new AdapterCache({ maxBytes: 10 * size });
    const d = deferred();
    let calls = 0;
    const load = () => (calls++, d.promise);
    const gets = Array.from({ length: 16 }, () => cache.get("x", load));
    d.resolve(adapter(5));
    const results = await Promise.all(gets);
    expect(calls).toBe(1);
    expect(new Set(results).size).toBe(1);
    expect(cache.stats()).toMatchObject({ loads: 1, misses: 16, hits: 0, entries: 1 });
    await cache.get("x", load);
    expect(cache.stats().hits).toBe(1);
  });

  it("a failed load is shared by its waiters, not cached, and retried by the next get", async () => {
    const cache = new AdapterCache({ maxBytes: 10 * size });
    const d = deferred();
    const gets = [cache.get("x", () => d.promise), cache.get("x", () => d.promise)];
    d.reject(new Error("R2 unavailable"));
    for (const g of gets) await expect(g).rejects.toThrow("R2 unavailable");
    expect(cache.stats()).toMatchObject({ loads: 1, loadErrors: 1, entries: 0, bytes: 0 });
    await cache.get("x", async () => adapter(1));
    expect(cache.stats()).toMatchObject({ loads: 2, entries: 1 });
  });

  it("never evicts a leased adapter: goes over budget, says so, and catches up on release", async () => {
    const cache = new AdapterCache({ maxBytes: 2 * size });
    const l1 = await cache.acquire("a1", async () => adapter(1));
    const l2 = await cache.acquire("a2", async () => adapter(2));
    const a3 = await cache.get("a3", async () => adapter(3));
    expect(a3.bytes).toBe(size);
    // a1 and a2 are leased: the newcomer a3 is the only one that can go
    expect([cache.has("a1"), cache.has("a2"), cache.has("a3")]).toEqual([true, true, false]);
    const l4 = await cache.acquire("a4", async () => adapter(4));
    expect(cache.stats()).toMatchObject({ bytes: 3 * size, entries: 3, pinned: 3, overBudget: true });
    l1.release();
    l1.release(); // idempotent
    expect(cache.has("a1")).toBe(false);
    expect(cache.stats()).toMatchObject({ bytes: 2 * size, overBudget: false, pinned: 2 });
    l2.release();
    l4.release();
    expect(cache.stats()).toMatchObject({ bytes: 2 * size, entries: 2, pinned: 0 });
  });

  it("a lease taken while its adapter is still loading protects it from the eviction the load triggers", async () => {
    const cache = new AdapterCache({ maxBytes: size });
    const d = deferred();
    const lease = cache.acquire("slow", () => d.promise);
    const other = cache.get("slow", () => d.promise);
    d.resolve(adapter(7));
    const [l, o] = await Promise.all([lease, other]);
    expect(l.adapter).toBe(o);
    await cache.get("next", async () => adapter(8)); // over budget: "slow" is leased, "next" goes
    expect([cache.has("slow"), cache.has("next")]).toEqual([true, false]);
    l.release();
  });

  it("delete drops an adapter now, or when its last lease ends", async () => {
    const cache = new AdapterCache({ maxBytes: 10 * size });
    await cache.get("a", async () => adapter(1));
    const lease = await cache.acquire("b", async () => adapter(2));
    expect(cache.delete("a")).toBe(true);
    expect(cache.delete("b")).toBe(true);
    expect([cache.has("a"), cache.has("b")]).toEqual([false, true]);
    // a get after delete loads the new version even while the old one is leased
    const fresh = await cache.get("b", async () => adapter(3));
    expect(fresh).not.toBe(lease.adapter);
    lease.release();
    expect(cache.stats()).toMatchObject({ entries: 1, bytes: size, evictions: 0 });
  });
});
