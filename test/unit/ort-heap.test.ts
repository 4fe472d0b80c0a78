/**
 * The heap-resident run path (src/runtime/ort.ts): tensors copied into ORT's heap once and fed by
 * reference give what the same tensors copied in per run give, against a float64 oracle; bad feeds
 * fail with ORT's message and leave nothing behind; a request's adapter feeds are freed however its
 * generation ends.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { GraphBuilder } from "../../src/builder/onnx.ts";
import { createSession, heapTensorBytes, HeapTensor, initOrt, ort, runSession, wasmHeapBytes } from "../../src/runtime/ort.ts";
import { createRng, randn } from "../reference/random.ts";
import { relL2 } from "../reference/llama64.ts";
import { demoEngine, SEEDED_REQUESTS } from "../support/demo-model.ts";
import { randomFeeds } from "../support/feeds.ts";

const [N, K, M] = [3, 40, 24];

/** y = x · w + bias (bias an external initializer), ids → ids (int64 passes through unchanged). */
async function affineSession() {
  const g = new GraphBuilder();
  const x = g.input("x", "float32", [N, K]);
  const w = g.input("w", "float32", [K, M]);
  const ids = g.input("ids", "int64", [N]);
  const bias = g.initializer("bias", Float32Array.from({ length: M }, (_, i) => i / 8 - 1), [M]);
  g.output(g.op("Add", [g.op("MatMul", [x, w]), bias]), "float32", [N, M], "y");
  g.output(g.op("Identity", [ids]), "int64", [N], "ids_out");
  const { model, weights } = g.serialize({ weightsPath: "affine.bin" });
  return createSession(model, { path: "affine.bin", data: weights });
}

function affine64(x: Float32Array, w: Float32Array): Float64Array {
  const y = new Float64Array(N * M);
  for (let n = 0; n < N; n++) {
    for (let m = 0; m < M; m++) {
      let acc = m / 8 - 1;
      for (let k = 0; k < K; k++) acc += x[n * K + k]! * w[k * M + m]!;
      y[n * M + m] = acc;
    }
  }
  return y;
}


describe("HeapTensor and runSession", () => {
  beforeAll(() => initOrt());

  it("a tensor in the heap, fed by reference run after run, gives the float64 result; so does one copied per run", async () => {
    const session = await affineSession();
    const rng = createRng(7);
    const w = Float32Array.from(randn(rng, K * M, 0.5));
    const resident = HeapTensor.from(new ort.Tensor("float32", w, [K, M]));
    try {
      for (let run = 0; run < 5; run++) {
        const x = Float32Array.from(randn(rng, N * K, 1));
        const ids = BigInt64Array.from({ length: N }, (_, i) => BigInt(run * 1000 + i - 7));
        const feeds = { x: new ort.Tensor("float32", x, [N, K]), ids: new ort.Tensor("int64", ids, [N]) };
        const byReference = await runSession(session, { ...feeds, w: resident });
        const copiedIn = await runSession(session, { ...feeds, w: new ort.Tensor("float32", w, [K, M]) });
        expect(byReference.copied.y!.dims).toEqual([N, M]);
        expect(relL2(byReference.copied.y!.data as Float32Array, affine64(x, w))).toBeLessThan(1e-6);
        expect(byReference.copied.y!.data).toEqual(copiedIn.copied.y!.data);
        expect(byReference.copied.ids_out!.type).toBe("int64");
        expect(byReference.copied.ids_out!.data).toEqual(ids);
      }
      // outputs are copies: the heap moving on does not change what a caller holds
      const x = Float32Array.from(randn(rng, N * K, 1));
      const first = await runSession(session, { x: new ort.Tensor("float32", x, [N, K]), ids: new ort.Tensor("int64", new BigInt64Array(N), [N]), w: resident });
      const kept = Float32Array.from(first.copied.y!.data as Float32Array);
      await runSession(session, { x: new ort.Tensor("float32", x.map((v) => -v), [N, K]), ids: new ort.Tensor("int64", new BigInt64Array(N), [N]), w: resident });
      expect(first.copied.y!.data).toEqual(kept);
    } finally {
      resident.dispose();
    }
  });

  it("an output kept in the heap feeds the next run by reference (the KV-cache pattern): a running sum matches float64", async () => {
    const g = new GraphBuilder();
    g.output(g.op("Add", [g.input("sum", "float32", [N, M]), g.input("x", "float32", [N, M])]), "float32", [N, M], "sum_out");
    const { model, weights } = g.serialize({ weightsPath: "sum.bin" });
    const session = await createSession(model, { path: "sum.bin", data: weights });
    const rng = createRng(11);
    const want = new Float64Array(N * M);
    const held = heapTensorBytes();
    let sum: ort.Tensor | HeapTensor = new ort.Tensor("float32", new Float32Array(N * M), [N, M]);
    for (let run = 0; run < 20; run++) {
      const x = Float32Array.from(randn(rng, N * M, 1));
      x.forEach((v, i) => (want[i] = want[i]! + v));
      const { copied, kept } = await runSession(session, { sum, x: new ort.Tensor("float32", x, [N, M]) }, new Set(["sum_out"]));
      expect(copied).toEqual({});
      if (sum instanceof HeapTensor) sum.dispose();
      sum = kept.sum_out!;
      expect(sum.dims).toEqual([N, M]);
      expect(heapTensorBytes()).toBe(held + N * M * 4);
    }
    const final = (sum as HeapTensor).read();
    expect(relL2(final.data as Float32Array, want)).toBeLessThan(1e-6);
    (sum as HeapTensor).dispose();
    expect(heapTensorBytes()).toBe(held);
  });

  it("an input that makes the heap grow mid-run is fed and read back intact", async () => {
    const g = new GraphBuilder();
    g.output(g.op("Identity", [g.input("big", "float32", ["n"])]), "float32", ["n"], "same");
    g.output(g.op("Identity", [g.input("small", "float32", [4])]), "float32", [4], "small_out");
    const { model, weights } = g.serialize({ weightsPath: "grow.bin" });
    const session = await createSession(model, { path: "grow.bin", data: weights });
    const small = HeapTensor.from(new ort.Tensor("float32", Float32Array.of(1, 2, 3, 4), [4]));
    const n = (wasmHeapBytes() + (16 << 20)) / 4; // more than the heap holds now
    const big = new Float32Array(n);
    for (let i = 0; i < n; i++) big[i] = (i % 1000) - 500;
    const before = wasmHeapBytes();
    const { copied } = await runSession(session, { big: new ort.Tensor("float32", big, [n]), small });
    expect(wasmHeapBytes()).toBeGreaterThan(before);
    const same = copied.same!.data as Float32Array;
    expect(same.length).toBe(n);
    let mismatches = 0;
    for (let i = 0; i < n; i++) if (same[i] !== big[i]) mismatches++;
    expect(mismatches).toBe(0);
    expect(copied.small_out!.data).toEqual(Float32Array.of(1, 2, 3, 4));
    small.dispose();
  });

  it("refuses bad feeds with a clear error and frees what the run copied in", async () => {
    const session = await affineSession();
    const held = heapTensorBytes();
    const x = new ort.Tensor("float32", new Float32Array(N * K).fill(0.5), [N, K]);
    const ids = new ort.Tensor("int64", new BigInt64Array(N), [N]);
    const w = new ort.Tensor("float32", new Float32Array(K * M).fill(0.25), [K, M]);
    await expect(runSession(session, { x, ids, w, extra: w })).rejects.toThrow("input 'extra' is not an input of this session");
    await expect(runSession(session, { x, ids, w: new ort.Tensor("float32", new Float32Array(K * (M + 1)), [K, M + 1]) })).rejects.toThrow(
      /OrtRun failed: ORT error \d+: .*w/,
    );
    await expect(runSession(session, { x, w })).rejects.toThrow("input 'ids' is missing from the feeds");
    const disposed = HeapTensor.from(w);
    disposed.dispose();
    disposed.dispose(); // idempotent
    await expect(runSession(session, { x, ids, w: disposed })).rejects.toThrow("this HeapTensor was disposed");
    expect(() => HeapTensor.from(new ort.Tensor("string", ["a"], [1]))).toThrow("cannot copy a string tensor");
    expect(heapTensorBytes()).toBe(held);
    // and the session still runs correctly afterwards
    const ok = await runSession(session, { x, ids, w });
    expect(relL2(ok.copied.y!.data as Float32Array, affine64(x.data as Float32Array, w.data as Float32Array))).toBeLessThan(1e-6);
  });

  it("reuses freed heap: uploading and releasing an r=16 adapter 100 times does not grow the heap", async () => {
    const engine = await demoEngine();
    const feeds = randomFeeds(engine.manifest.architecture, 16);
    engine.uploadLora(feeds).release(); // the first upload may grow the heap once
    const heap = wasmHeapBytes();
    const held = heapTensorBytes();
    for (let i = 0; i < 100; i++) engine.uploadLora(feeds).release();
    expect(wasmHeapBytes()).toBe(heap);
    expect(heapTensorBytes()).toBe(held);
  });
});

describe("a request's adapter feeds and KV cache live in the heap exactly as long as its generation", () => {
  const sampling = { temperature: 0, topK: 0, topP: 1, seed: 0 };

  it("holds them while generating and frees them when it ends, stops early or fails", async () => {
    const engine = await demoEngine();
    const lora = randomFeeds(engine.manifest.architecture, 16, 9);
    const adapterBytes = lora.layers.flatMap((l) => Object.values(l)).reduce((n, f) => n + f!.A.byteLength + f!.B.byteLength, 0);
    const { ids: promptIds } = engine.tokenizer.applyChatTemplate(SEEDED_REQUESTS[0]!.messages);
    const idle = heapTensorBytes();
    const a = engine.manifest.architecture;
    const kvBytesPerToken = a.num_hidden_layers * 2 * a.num_key_value_heads * a.head_dim * 4;

    // runs to its end
    const whole: number[] = [];
    for await (const ev of engine.generate({ promptIds, maxTokens: 6, sampling, lora, stopTokenIds: [] })) {
      if (ev.type === "token") {
        whole.push(ev.id);
        // the cache holds the prompt and every token fed back so far (this one is not yet)
        expect(heapTensorBytes()).toBe(idle + adapterBytes + kvBytesPerToken * (promptIds.length + whole.length - 1));
      }
    }
    expect(whole).toHaveLength(6);
    expect(heapTensorBytes()).toBe(idle);

    // the consumer stops after the first token (a client that disconnects): return() frees them
    for await (const ev of engine.generate({ promptIds, maxTokens: 6, sampling, lora, stopTokenIds: [] })) {
      expect(ev.type === "token" && ev.id).toBe(whole[0]);
      break;
    }
    expect(heapTensorBytes()).toBe(idle);

    // aborted mid-way
    const abort = new AbortController();
    const aborted = (async () => {
      for await (const ev of engine.generate({ promptIds, maxTokens: 6, sampling, lora, stopTokenIds: [], signal: abort.signal })) if (ev.type === "token") abort.abort();
    })();
    await expect(aborted).rejects.toThrow();
    expect(heapTensorBytes()).toBe(idle);

    // the same request again gives the same tokens: nothing stale was fed
    const again: number[] = [];
    for await (const ev of engine.generate({ promptIds, maxTokens: 6, sampling, lora, stopTokenIds: [] })) if (ev.type === "token") again.push(ev.id);
    expect(again).toEqual(whole);
  });
});
