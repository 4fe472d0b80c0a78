/**
 * Prepare once, run many: a PEFT adapter becomes, per layer and LoRA group, exactly the tensors the
 * graph is fed (`GroupFeed`: A [in, R], B [R, out_g], DoRA scale [out_g]), with scaling folded into
 * B, projections of a group side by side along the rank (block-diagonal B) and DoRA's
 * per-channel scale computed from the base weight. A request then only wraps these arrays.
 *
 * Stored form (for R2 and the isolate's warm cache): safetensors with the per-projection factors
 * (no block zeros) and a JSON `__metadata__`; it is re-assembled and validated on read. Format 2
 * keeps lora_Aᵀ and the unscaled lora_Bᵀ in the narrowest dtype that holds them exactly (an adapter
 * uploaded in BF16/F16 stays 2 bytes per value) with each module's scaling beside them, so reading
 * it back gives bit for bit what `prepareAdapter` gives.
 */
import { LoraEdgeError } from "../errors.ts";
import type { GroupFeed, LoraFeeds } from "../runtime/lora-feeds.ts";
import { groupLayout, LORA_GROUPS, projectionShape, PROJECTIONS, type Architecture, type LoraGroupName, type Projection } from "../runtime/manifest.ts";
import type { PeftAdapter } from "./load-peft.ts";
import { transpose } from "./matrix.ts";
import { encodeFloats, parseSafetensors, serializeSafetensors, toFloat32, type TensorInput } from "./safetensors.ts";
import { refusal } from "./validate.ts";

export const PREPARED_FORMAT = "lora-edge.prepared/1";
/** The compact stored form (see the header); `deserializePreparedAdapter` reads both. */
export const STORED_FORMAT = "lora-edge.prepared/2";

/** One projection's runtime factors: `x_p += (x · At) · sBt`, then `⊙ scale` for DoRA. */
export type ProjectionFactors = {
  rank: number;
  /** lora_Aᵀ [in, r] */
  At: Float32Array;
  /** scaling · lora_Bᵀ [r, out_p] */
  sBt: Float32Array;
  /** DoRA: m / ‖W + s·B·A‖_row [out_p] */
  scale?: Float32Array;
};

/** A group's feed plus where each projection's block sits along its rank. */
export type PreparedGroup = {
  feed: GroupFeed;
  /** rank rows [offset, offset + rank) of B (and columns of A) belong to this projection */
  blocks: Partial<Record<Projection, { offset: number; rank: number }>>;
};

/** The dimensions a prepared adapter was made for; composing checks them against the base. */
export type PreparedDims = { num_hidden_layers: number; hidden_size: number; intermediate_size: number; q_dim: number; kv_dim: number };

/** An adapter in runtime form. Treat every array as read-only: feeds are shared between requests. */
export type PreparedAdapter = {
  format: typeof PREPARED_FORMAT;
  dims: PreparedDims;
  /** Identity of the base the DoRA scale was computed from (e.g. the manifest hash), if given. */
  baseId?: string;
  dora: boolean;
  /** layers[l][group]; absent = the adapter does not touch that group (rank 0) */
  layers: Array<Partial<Record<LoraGroupName, PreparedGroup>>>;
  /**
   * The feeds for this adapter alone at weight 1 (the same arrays as `layers`, no copy). For DoRA
   * every layer × group is present (rank 0 with scale 1 where not adapted) so the DoRA graph always
   * has its scale inputs.
   */
  feeds: LoraFeeds;
  /** Bytes of all arrays held (what an adapter cache should count). */
  bytes: number;
};

export type PrepareOptions = {
  /** Dequantized base weight of a projection, [in, out] row-major (graph layout). Needed for DoRA. */
  baseWeight?: (layer: number, projection: Projection) => Float32Array;
  /** Recorded on the prepared adapter and checked on read when given. */
  baseId?: string;
};

/** The dims a prepared adapter records for an architecture. @example dimsOf(arch).q_dim // heads · head_dim */
export function dimsOf(arch: Architecture): PreparedDims {
  return {
    num_hidden_layers: arch.num_hidden_layers,
    hidden_size: arch.hidden_size,
    intermediate_size: arch.intermediate_size,
    q_dim: arch.num_attention_heads * arch.head_dim,
    kv_dim: arch.num_key_value_heads * arch.head_dim,
  };
}

/** Which group a projection belongs to. @example groupOf("k_proj") // "qkv" */
export function groupOf(p: Projection): LoraGroupName {
  return LORA_GROUPS.find((g) => (g.projections as readonly Projection[]).includes(p))!.name;
}

/**
 * Turn a validated PEFT adapter into its runtime form (once per adapter and base).
 *
 * @example
 * const prepared = prepareAdapter(loadPeftAdapter(files, arch), arch, { baseWeight: (l, p) => dequantized(l, p) });
 * composeAdapters(arch, [{ adapter: prepared, weight: 1 }]) === prepared.feeds // true
 */
export function prepareAdapter(peft: PeftAdapter, arch: Architecture, options: PrepareOptions = {}): PreparedAdapter {
  const factors: Array<Partial<Record<Projection, ProjectionFactors>>> = [];
  for (let l = 0; l < arch.num_hidden_layers; l++) {
    const layer: Partial<Record<Projection, ProjectionFactors>> = {};
    for (const p of PROJECTIONS) {
      const m = peft.layers[l]?.[p];
      if (!m) continue;
      const { in: n, out } = projectionShape(arch, p);
      const At = transpose(m.A, m.rank, n); // [r, in] → [in, r]
      const sBt = transpose(m.B, out, m.rank, m.scaling); // [out, r] → [r, out], × s
      // lora_alpha 1e308, alpha_pattern 1e300 or weights near float32's limit overflow here
      const bad = sBt.findIndex((x) => !Number.isFinite(x));
      if (bad >= 0) throw refusal("non_finite_weight", `${m.name}: lora_B × scaling (${m.scaling}) is ${sBt[bad]} at index ${bad}: the scaled factor overflows float32 (check lora_alpha, alpha_pattern and the weights)`, "adapter_model.safetensors");
      const f: ProjectionFactors = { rank: m.rank, At, sBt };
      if (m.magnitude) {
        if (!options.baseWeight) {
          throw refusal("dora_unsupported", `${m.name} uses DoRA, which needs the base model's weights to compute its magnitude scale; this base offers none (no DoRA graph?)`);
        }
        const W = options.baseWeight(l, p);
        if (W.length !== n * out) throw new LoraEdgeError(500, "invalid_base_weight", `base weight of layer ${l} ${p} has ${W.length} values, expected [${n}, ${out}]`);
        f.scale = doraScale(W, At, sBt, m.magnitude, n, out, m.rank);
        for (let o = 0; o < out; o++) {
          if (!Number.isFinite(f.scale[o]!)) throw refusal("non_finite_weight", `${m.name}: DoRA scale is ${f.scale[o]} at output ${o} (‖W + ΔW‖ of that row is 0)`);
        }
      }
      layer[p] = f;
    }
    factors.push(layer);
  }
  return assemble(factors, arch, peft.dora, options.baseId);
}

/**
 * PEFT's DoRA scale m / ‖W + s·B·A‖ per output channel (norm over the input dimension, float64),
 * with W [in, out], At [in, r], sBt [r, out] in graph layout.
 */
export function doraScale(W: Float32Array, At: Float32Array, sBt: Float32Array, magnitude: Float32Array, n: number, out: number, r: number): Float32Array {
  const ss = new Float64Array(out);
  const row = new Float64Array(out);
  for (let i = 0; i < n; i++) {
    // row = W[i, :] + At[i, :] · sBt  — one input row of the merged weight
    for (let o = 0; o < out; o++) row[o] = W[i * out + o]!;
    for (let j = 0; j < r; j++) {
      const a = At[i * r + j]!;
      if (a === 0) continue;
      const off = j * out;
      for (let o = 0; o < out; o++) row[o]! += a * sBt[off + o]!;
    }
    for (let o = 0; o < out; o++) ss[o]! += row[o]! * row[o]!;
  }
  const scale = new Float32Array(out);
  for (let o = 0; o < out; o++) scale[o] = magnitude[o]! / Math.sqrt(ss[o]!);
  return scale;
}

/** Lay per-projection factors out as group feeds: A columns and B rows side by side, B block-diagonal. */
function assemble(factors: Array<Partial<Record<Projection, ProjectionFactors>>>, arch: Architecture, dora: boolean, baseId: string | undefined): PreparedAdapter {
  const layers: PreparedAdapter["layers"] = [];
  const feeds: LoraFeeds = { layers: [], dora };
  let bytes = 0;
  for (let l = 0; l < arch.num_hidden_layers; l++) {
    const layer: Partial<Record<LoraGroupName, PreparedGroup>> = {};
    const feedLayer: Partial<Record<LoraGroupName, GroupFeed>> = {};
    for (const g of LORA_GROUPS) {
      const { in: n, out, columns } = groupLayout(arch, g.name);
      const present = g.projections.filter((p) => factors[l]?.[p]);
      if (present.length === 0 && !dora) continue;
      const R = present.reduce((s, p) => s + factors[l]![p]!.rank, 0);
      const A = new Float32Array(n * R); // [in, R]
      const B = new Float32Array(R * out); // [R, out]
      const blocks: PreparedGroup["blocks"] = {};
      let offset = 0;
      for (const p of present) {
        const f = factors[l]![p]!;
        const [c0, c1] = columns[p]!;
        const w = c1 - c0;
        for (let i = 0; i < n; i++) A.set(f.At.subarray(i * f.rank, (i + 1) * f.rank), i * R + offset);
        for (let j = 0; j < f.rank; j++) B.set(f.sBt.subarray(j * w, (j + 1) * w), (offset + j) * out + c0);
        blocks[p] = { offset, rank: f.rank };
        offset += f.rank;
      }
      const feed: GroupFeed = { rank: R, A, B };
      if (dora) {
        const scale = new Float32Array(out).fill(1); // [out_g]; 1 for columns without DoRA
        for (const p of present) {
          const s = factors[l]![p]!.scale;
          if (s) scale.set(s, columns[p]![0]);
        }
        feed.scale = scale;
      }
      bytes += A.byteLength + B.byteLength + (feed.scale?.byteLength ?? 0);
      layer[g.name] = { feed, blocks };
      feedLayer[g.name] = feed;
    }
    layers.push(layer);
    feeds.layers.push(feedLayer);
  }
  const prepared: PreparedAdapter = { format: PREPARED_FORMAT, dims: dimsOf(arch), dora, layers, feeds, bytes };
  if (baseId !== undefined) prepared.baseId = baseId;
  return prepared;
}

/**
 * One projection's compact factors, copied out of a prepared adapter's group feed (undefined if the
 * adapter does not touch it).
 *
 * @example projectionFactors(prepared, arch, 0, "k_proj") // { rank: 8, At: [in, 8], sBt: [8, kv_dim] }
 */
export function projectionFactors(prepared: PreparedAdapter, arch: Architecture, layer: number, p: Projection): ProjectionFactors | undefined {
  const group = prepared.layers[layer]?.[groupOf(p)];
  const block = group?.blocks[p];
  if (!group || !block) return undefined;
  const { in: n, out, columns } = groupLayout(arch, groupOf(p));
  const [c0, c1] = columns[p]!;
  const { rank: r, offset } = block;
  const R = group.feed.rank;
  const At = new Float32Array(n * r);
  for (let i = 0; i < n; i++) At.set(group.feed.A.subarray(i * R + offset, i * R + offset + r), i * r);
  const sBt = new Float32Array(r * (c1 - c0));
  for (let j = 0; j < r; j++) sBt.set(group.feed.B.subarray((offset + j) * out + c0, (offset + j) * out + c1), j * (c1 - c0));
  const f: ProjectionFactors = { rank: r, At, sBt };
  if (group.feed.scale) f.scale = group.feed.scale.slice(c0, c1);
  return f;
}

/**
 * The stored form. With the PEFT adapter it was prepared from (what uploads have), format 2:
 * `layers.{l}.{proj}.A` lora_Aᵀ [in, r] and `.Bt` lora_Bᵀ [r, out_p] in the narrowest exact dtype,
 * scalings in `__metadata__.scaling`, DoRA `.scale` [out_p] in F32. Without it, format 1: `.A`
 * and `.B` = scaling·lora_Bᵀ in F32.
 *
 * @example await env.ADAPTERS.put(`prepared/${sha}`, serializePreparedAdapter(prepared, arch, peft));
 */
export function serializePreparedAdapter(prepared: PreparedAdapter, arch: Architecture, peft?: PeftAdapter): Uint8Array {
  const tensors: Record<string, TensorInput> = {};
  const scaling: Record<string, number> = {};
  for (let l = 0; l < prepared.layers.length; l++) {
    for (const p of PROJECTIONS) {
      const f = projectionFactors(prepared, arch, l, p);
      if (!f) continue;
      const { in: n, out } = projectionShape(arch, p);
      const m = peft?.layers[l]?.[p];
      if (peft && !m) throw new RangeError(`serializePreparedAdapter: the PEFT adapter has no layer ${l} ${p}`);
      if (m) {
        const Bt = transpose(m.B, out, m.rank); // [out, r] → [r, out], unscaled
        tensors[`layers.${l}.${p}.A`] = exactTensor([n, f.rank], f.At);
        tensors[`layers.${l}.${p}.Bt`] = exactTensor([f.rank, out], Bt);
        scaling[`${l}.${p}`] = m.scaling;
      } else {
        tensors[`layers.${l}.${p}.A`] = { dtype: "F32", shape: [n, f.rank], data: f.At };
        tensors[`layers.${l}.${p}.B`] = { dtype: "F32", shape: [f.rank, out], data: f.sBt };
      }
      if (prepared.dora && f.scale) tensors[`layers.${l}.${p}.scale`] = { dtype: "F32", shape: [out], data: f.scale };
    }
  }
  const metadata: Record<string, string> = { format: peft ? STORED_FORMAT : PREPARED_FORMAT, dora: String(prepared.dora), dims: JSON.stringify(prepared.dims) };
  if (peft) metadata["scaling"] = JSON.stringify(scaling);
  if (prepared.baseId !== undefined) metadata["base_id"] = prepared.baseId;
  return serializeSafetensors(tensors, metadata);
}

/** The narrowest of BF16, F16, F32 that holds every value exactly (PEFT files keep their dtype's values). */
function exactTensor(shape: number[], values: Float32Array): TensorInput {
  for (const dtype of ["BF16", "F16"] as const) {
    const back = toFloat32({ dtype, shape, data: encodeFloats(values, dtype) });
    if (back.every((v, i) => Object.is(v, values[i]))) return { dtype, shape, data: encodeFloats(values, dtype) };
  }
  return { dtype: "F32", shape, data: values };
}

function corrupt(message: string): LoraEdgeError {
  return new LoraEdgeError(500, "invalid_prepared_adapter", `stored prepared adapter: ${message}`, { param: "prepared" });
}

/**
 * Read a stored prepared adapter back, validating format, dimensions, names, shapes and values.
 * Throws 409 `adapter_base_mismatch` if it was made for another architecture or base id.
 *
 * @example const prepared = deserializePreparedAdapter(new Uint8Array(await obj.arrayBuffer()), manifest.architecture, { baseId: manifestHash });
 */
export function deserializePreparedAdapter(bytes: Uint8Array, arch: Architecture, options: { baseId?: string } = {}): PreparedAdapter {
  let file;
  try {
    file = parseSafetensors(bytes);
  } catch (e) {
    throw corrupt((e as Error).message);
  }
  const meta = file.metadata;
  const format = meta["format"];
  if (format !== PREPARED_FORMAT && format !== STORED_FORMAT) throw corrupt(`format is ${JSON.stringify(format)}, expected ${STORED_FORMAT} or ${PREPARED_FORMAT}`);
  const compact = format === STORED_FORMAT;
  let scalings: Record<string, unknown> = {};
  if (compact) {
    try {
      scalings = JSON.parse(meta["scaling"] ?? "null") as Record<string, unknown>;
    } catch {
      throw corrupt("scaling is not JSON");
    }
    if (!scalings || typeof scalings !== "object") throw corrupt("scaling is missing");
  }
  if (meta["dora"] !== "true" && meta["dora"] !== "false") throw corrupt(`dora is ${JSON.stringify(meta["dora"])}`);
  const dora = meta["dora"] === "true";
  const want = dimsOf(arch);
  let dims: unknown;
  try {
    dims = JSON.parse(meta["dims"] ?? "null");
  } catch {
    throw corrupt("dims is not JSON");
  }
  if (JSON.stringify(dims) !== JSON.stringify(want)) {
    throw new LoraEdgeError(409, "adapter_base_mismatch", `prepared adapter was made for dims ${meta["dims"]}, the base has ${JSON.stringify(want)}`, { param: "adapters" });
  }
  const baseId = meta["base_id"];
  if (options.baseId !== undefined && baseId !== undefined && baseId !== options.baseId) {
    throw new LoraEdgeError(409, "adapter_base_mismatch", `prepared adapter was made for base ${baseId}, not ${options.baseId}`, { param: "adapters" });
  }

  const factors: Array<Partial<Record<Projection, ProjectionFactors>>> = Array.from({ length: arch.num_hidden_layers }, () => ({}));
  const parts = new Map<string, { A?: Float32Array; B?: Float32Array; scale?: Float32Array; rank?: number }>();
  for (const [name, t] of file) {
    const m = (compact ? /^layers\.(\d+)\.([a-z_]+)\.(A|Bt|scale)$/ : /^layers\.(\d+)\.([a-z_]+)\.(A|B|scale)$/).exec(name);
    const layer = m ? Number(m[1]) : -1;
    const p = m?.[2] as Projection | undefined;
    if (!m || layer >= arch.num_hidden_layers || !p || !(PROJECTIONS as readonly string[]).includes(p)) throw corrupt(`unexpected tensor ${name}`);
    if (t.dtype !== "F32" && !(compact && m[3] !== "scale" && (t.dtype === "F16" || t.dtype === "BF16"))) throw corrupt(`${name} is ${t.dtype}, expected F32`);
    const { in: n, out } = projectionShape(arch, p);
    const key = `${layer}.${p}`;
    const entry = parts.get(key) ?? {};
    const which = (m[3] === "Bt" ? "B" : m[3]) as "A" | "B" | "scale";
    const r = which === "A" ? t.shape[1] : which === "B" ? t.shape[0] : 1; // the rank dimension
    const expected = which === "A" ? [n, r] : which === "B" ? [r, out] : [out];
    if (r === undefined || r < 1 || t.shape.length !== expected.length || !t.shape.every((d, i) => d === expected[i])) {
      throw corrupt(`${name} has shape [${t.shape.join(", ")}], expected [${which === "A" ? `${n}, r` : which === "B" ? `r, ${out}` : out}] with r ≥ 1`);
    }
    if (which !== "scale") {
      if (entry.rank !== undefined && entry.rank !== r) throw corrupt(`${name} has rank ${r}, its pair has ${entry.rank}`);
      entry.rank = r;
    }
    const data = toFloat32(t);
    for (let i = 0; i < data.length; i++) if (!Number.isFinite(data[i]!)) throw corrupt(`${name} contains ${data[i]} at index ${i}`);
    if (compact && which === "B") {
      const s = scalings[key];
      if (typeof s !== "number" || !Number.isFinite(s)) throw corrupt(`no scaling for layer ${layer} ${p}`);
      // the same float32 rounding of scaling × value as prepareAdapter's transpose (in place: data is fresh)
      for (let i = 0; i < data.length; i++) data[i] = s * data[i]!;
    }
    entry[which] = data;
    parts.set(key, entry);
  }
  for (const [key, e] of parts) {
    const [l, p] = key.split(".") as [string, Projection];
    if (!e.A || !e.B || e.rank === undefined) throw corrupt(`layer ${l} ${p} lacks its A or B`);
    if (dora !== (e.scale !== undefined)) throw corrupt(`layer ${l} ${p} ${dora ? "lacks" : "has"} a DoRA scale`);
    const f: ProjectionFactors = { rank: e.rank, At: e.A, sBt: e.B };
    if (e.scale) f.scale = e.scale;
    factors[Number(l)]![p] = f;
  }
  return assemble(factors, arch, dora, baseId);
}
