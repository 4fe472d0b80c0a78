/**
 * A small ONNX graph writer over `onnx-proto`'s generated protobuf types.
 *
 * The builder names every value, adds nodes one call at a time and writes large initializers as
 * ONNX external data, so the runtime can hand ORT the weights separately (lower peak memory,
 * FACTS.md). Only what a decoder graph needs; no optimiser.
 *
 * @example
 * const g = new GraphBuilder();
 * const x = g.input("x", "float32", ["S", 4]);
 * const w = g.initializer("w", new Float32Array(16), [4, 4]);
 * g.output(g.op("MatMul", [x, w]), "float32", ["S", 4], "y");
 * const { model, weights } = g.serialize({ weightsPath: "model.weights" });
 */
import onnxProto from "onnx-proto";

const { onnx } = onnxProto;
const DT = onnx.TensorProto.DataType;

export type ElemType = "float32" | "int64" | "int32" | "int8" | "uint8";
export type Dim = number | string;
export type AttrValue = number | number[] | string | { float: number } | { floats: number[] };
export type TensorData = Float32Array | BigInt64Array | Int32Array | Int8Array | Uint8Array;

const ELEM: Record<ElemType, number> = { float32: DT.FLOAT, int64: DT.INT64, int32: DT.INT32, int8: DT.INT8, uint8: DT.UINT8 };

function elemOf(data: TensorData): ElemType {
  if (data instanceof Float32Array) return "float32";
  if (data instanceof BigInt64Array) return "int64";
  if (data instanceof Int32Array) return "int32";
  if (data instanceof Int8Array) return "int8";
  return "uint8";
}

type Initializer = { name: string; dims: number[]; data: TensorData; external: boolean };

export class GraphBuilder {
  private readonly nodes: InstanceType<typeof onnx.NodeProto>[] = [];
  private readonly inits: Initializer[] = [];
  private readonly inputs: InstanceType<typeof onnx.ValueInfoProto>[] = [];
  private readonly outputs: InstanceType<typeof onnx.ValueInfoProto>[] = [];
  private readonly names = new Set<string>();
  private counter = 0;

  /** A fresh value name with a readable prefix. */
  fresh(prefix: string): string {
    let name = `${prefix}_${this.counter++}`;
    while (this.names.has(name)) name = `${prefix}_${this.counter++}`;
    return name;
  }

  input(name: string, elem: ElemType, dims: Dim[]): string {
    this.names.add(name);
    this.inputs.push(valueInfo(name, elem, dims));
    return name;
  }

  output(value: string, elem: ElemType, dims: Dim[], name: string): string {
    if (value !== name) this.op("Identity", [value], {}, { outputs: [name] });
    this.outputs.push(valueInfo(name, elem, dims));
    return name;
  }

  /** A named constant tensor; weights go to the external data file, small constants stay inline. */
  initializer(name: string, data: TensorData, dims: number[], opts: { external?: boolean } = {}): string {
    if (this.names.has(name)) throw new Error(`duplicate value name ${name}`);
    const numel = dims.reduce((a, b) => a * b, 1);
    if (numel !== data.length) throw new Error(`initializer ${name}: ${data.length} values for dims [${dims}]`);
    this.names.add(name);
    this.inits.push({ name, dims, data, external: opts.external ?? true });
    return name;
  }

  /** Constant helpers for shapes and scalars. */
  i64(values: number[], name = this.fresh("const_i64")): string {
    return this.initializer(name, BigInt64Array.from(values.map(BigInt)), [values.length], { external: false });
  }
  f32(values: number[], dims: number[] = [values.length], name = this.fresh("const_f32")): string {
    return this.initializer(name, Float32Array.from(values), dims, { external: false });
  }

  /** Add a node; returns its single output name (or all of them when `outputs` > 1). */
  op(type: string, inputs: string[], attrs: Record<string, AttrValue> = {}, opts: { domain?: string; outputs?: number | string[]; name?: string } = {}): string {
    return this.opN(type, inputs, attrs, opts)[0]!;
  }

  opN(type: string, inputs: string[], attrs: Record<string, AttrValue> = {}, opts: { domain?: string; outputs?: number | string[]; name?: string } = {}): string[] {
    const outs = Array.isArray(opts.outputs)
      ? opts.outputs.map((o) => (this.names.add(o), o))
      : Array.from({ length: opts.outputs ?? 1 }, () => {
          const o = this.fresh(opts.name ?? type.toLowerCase());
          this.names.add(o);
          return o;
        });
    this.nodes.push(
      onnx.NodeProto.create({
        opType: type,
        domain: opts.domain ?? "",
        name: this.fresh(`n_${type}`),
        input: inputs,
        output: outs,
        attribute: Object.entries(attrs).map(([k, v]) => attribute(k, v)),
      }),
    );
    return outs;
  }

  /**
   * Encode the model. Weight initializers go to one external data blob (`weightsPath`), 64-byte
   * aligned so ORT can read them in place; `index` says where each one is.
   */
  serialize(opts: { weightsPath: string; opset?: number; graphName?: string; docString?: string }) {
    const chunks: Uint8Array[] = [];
    const index: Record<string, { offset: number; bytes: number; dtype: ElemType; dims: number[] }> = {};
    let offset = 0;
    const initializer = this.inits.map(({ name, dims, data, external }) => {
      const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
      const base = { name, dims, dataType: ELEM[elemOf(data)] };
      if (!external) return onnx.TensorProto.create({ ...base, rawData: bytes.slice() });
      const pad = (64 - (offset % 64)) % 64;
      if (pad) chunks.push(new Uint8Array(pad));
      offset += pad;
      chunks.push(bytes);
      const tensor = onnx.TensorProto.create({
        ...base,
        dataLocation: onnx.TensorProto.DataLocation.EXTERNAL,
        externalData: [
          { key: "location", value: opts.weightsPath },
          { key: "offset", value: String(offset) },
          { key: "length", value: String(bytes.byteLength) },
        ],
      });
      index[name] = { offset, bytes: bytes.byteLength, dtype: elemOf(data), dims };
      offset += bytes.byteLength;
      return tensor;
    });
    const graph = onnx.GraphProto.create({ name: opts.graphName ?? "lora_edge", node: this.nodes, initializer, input: this.inputs, output: this.outputs });
    const model = onnx.ModelProto.create({
      irVersion: 8,
      producerName: "lora-edge",
      docString: opts.docString ?? "",
      opsetImport: [
        { domain: "", version: opts.opset ?? 17 },
        { domain: "com.microsoft", version: 1 },
      ],
      graph,
    });
    const weights = new Uint8Array(offset);
    let at = 0;
    for (const c of chunks) {
      weights.set(c, at);
      at += c.byteLength;
    }
    return { model: onnx.ModelProto.encode(model).finish(), weights, index };
  }
}

function valueInfo(name: string, elem: ElemType, dims: Dim[]) {
  return onnx.ValueInfoProto.create({
    name,
    type: {
      tensorType: {
        elemType: ELEM[elem],
        shape: { dim: dims.map((d) => (typeof d === "number" ? { dimValue: d } : { dimParam: d })) },
      },
    },
  });
}

function attribute(name: string, v: AttrValue) {
  const T = onnx.AttributeProto.AttributeType;
  if (typeof v === "string") return onnx.AttributeProto.create({ name, type: T.STRING, s: new TextEncoder().encode(v) });
  if (typeof v === "number") return onnx.AttributeProto.create({ name, type: T.INT, i: v });
  if (Array.isArray(v)) return onnx.AttributeProto.create({ name, type: T.INTS, ints: v });
  if ("float" in v) return onnx.AttributeProto.create({ name, type: T.FLOAT, f: v.float });
  return onnx.AttributeProto.create({ name, type: T.FLOATS, floats: v.floats });
}
