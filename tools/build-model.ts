/**
 * `npm run build-model` — write a lora-edge model package from a Hugging Face checkpoint directory,
 * a llama.cpp GGUF file, or seeded random weights (with a tokenizer the builder trains itself).
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { readGgufCheckpoint } from "../src/builder/gguf-checkpoint.ts";
import { calibrateActivations, calibrationSequences, smoothingScales } from "../src/builder/smooth.ts";
import { readHfCheckpoint } from "../src/builder/hf-checkpoint.ts";
import { assembleModelPackage, sha256Hex, writeModelPackage } from "../src/builder/package.ts";
import { randomLlamaWeights } from "../src/builder/random-weights.ts";
import { buildTokenizer } from "../src/builder/tokenizer.ts";
import { DEFAULT_CORPUS } from "../src/builder/corpus.ts";
import { WEIGHT_FORMATS, type Architecture, type WeightFormat } from "../src/runtime/manifest.ts";
import { PRESETS } from "../src/builder/presets.ts";

const HELP = `Usage: npm run build-model -- (--from-hf <dir> | --from-gguf <file> | --random) --out <dir> [options]

Writes a model package: manifest.json, model.onnx (+ model.dora.onnx with --dora, model.batch.onnx with --batch), model.weights,
tokenizer.json, tokenizer_config.json, generation_config.json.

Sources
  --from-hf <dir>       Hugging Face checkpoint (config.json, model.safetensors or sharded index,
                        tokenizer files): LlamaForCausalLM, Qwen2ForCausalLM, SmolLM-style; F32/F16/BF16
  --from-gguf <file>    llama.cpp GGUF (v2/v3, architecture llama, byte-level BPE tokenizer); tensors
                        F32/F16/BF16/Q4_0/Q4_1/Q5_0/Q5_1/Q8_0/Q4_K/Q5_K/Q6_K, dequantized
  --random              seeded random weights and a byte-level BPE tokenizer trained on the built-in corpus
    --preset <name>     demo (the embedded default) or tiny; dims below override it
    --seed <n>          default 1
    --hidden <n> --intermediate <n> --layers <n> --heads <n> --kv-heads <n> --vocab <n>
    --rope-theta <x> --tied --bias

Options
  --context <n>         the context the package serves (RoPE tables and model_max_length); default:
                        the source's max_position_embeddings (a checkpoint's can only be lowered)
  --out <dir>           output directory (required)
  --name <name>         package name (default: the directory's name)
  --format <f>          ${WEIGHT_FORMATS.join(" | ")} (default int8: see README "Weight formats")
  --block-size <n>      int4 block size (default 32)
  --int8-activations <g>  int8: activation scales per "tensor" (default), per "row" (token), or "block": weights and
                          activations in blocks of 32 (MatMulNBits, fast on onnxruntime-node only)
  --int4-activations <c>  int4: "fp32" (default: blocks dequantized, fp32 compute; exact for a GGUF's blocks) or
                          "block" (int8 per row and block in the kernel, as llama.cpp: faster natively, not exact)
  --split-8bit          int4 in fp32: 8-bit blocks (a GGUF's Q8_0) as two 4-bit halves, the fast kernel on
                        onnxruntime-node (the Node host); slower in onnxruntime-web (npm run bench:kernels)
  --smooth <alpha>      int8 from a checkpoint: SmoothQuant input scaling of strength alpha in (0, 1],
                        calibrated by running the fp32 graph on 4 × 512 tokens of the builder's corpus
  --max-rank <n>        largest LoRA rank per projection adapters may use (default 64)
  --dora                also write the DoRA graph variant
  --split-mib <n>       store model.weights in parts of at most n MiB, read as one (wrangler's static
                        assets take 25 MiB per file: 24 fits)
  --batch               also write the batched graph variant (concurrent requests, each with its own
                        adapter, share one forward pass per decode step)
  -h, --help            this help
`;

function fail(message: string): never {
  console.error(`build-model: ${message}`);
  process.exit(1);
}

async function main() {
  let args;
  try {
    args = parseArgs({
      options: {
        "from-hf": { type: "string" }, "from-gguf": { type: "string" }, random: { type: "boolean" }, preset: { type: "string", default: "demo" },
        seed: { type: "string", default: "1" }, hidden: { type: "string" }, intermediate: { type: "string" },
        layers: { type: "string" }, heads: { type: "string" }, "kv-heads": { type: "string" }, vocab: { type: "string" },
        context: { type: "string" }, "rope-theta": { type: "string" }, tied: { type: "boolean" }, bias: { type: "boolean" },
        out: { type: "string" }, name: { type: "string" }, format: { type: "string", default: "int8" },
        "block-size": { type: "string" }, "int8-activations": { type: "string" }, "int4-activations": { type: "string" }, "split-8bit": { type: "boolean" }, smooth: { type: "string" }, "max-rank": { type: "string" }, dora: { type: "boolean" }, batch: { type: "boolean" }, "split-mib": { type: "string" }, help: { type: "boolean", short: "h" },
      },
    }).values;
  } catch (e) {
    fail((e as Error).message);
  }
  if (args.help) return void process.stdout.write(HELP);
  if (!args.out) fail("--out <dir> is required (see --help)");
  if ([args["from-hf"], args["from-gguf"], args.random].filter(Boolean).length !== 1) fail("give exactly one of --from-hf <dir>, --from-gguf <file> or --random");
  const format = args.format as WeightFormat;
  if (!WEIGHT_FORMATS.includes(format)) fail(`--format must be one of ${WEIGHT_FORMATS.join(", ")}`);
  const int = (v: string | undefined, flag: string) => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isInteger(n) || n <= 0) fail(`${flag} must be a positive integer, got "${v}"`);
    return n;
  };
  const name = args.name ?? args.out.split("/").filter(Boolean).pop()!;
  const started = performance.now();
  let input;
  const context = int(args.context, "--context");
  /** A checkpoint's context can be served shorter (smaller RoPE tables), never longer than it was trained for. */
  const servedContext = <T extends { arch: Architecture; tokenizerConfig: unknown }>(c: T): T => {
    if (!context) return c;
    if (context > c.arch.max_position_embeddings) fail(`--context ${context} exceeds the model's ${c.arch.max_position_embeddings}`);
    return { ...c, arch: { ...c.arch, max_position_embeddings: context }, tokenizerConfig: { ...(c.tokenizerConfig as object), model_max_length: context } };
  };
  if (args["from-hf"]) {
    process.stderr.write(`reading ${args["from-hf"]} …\n`);
    let ckpt;
    try {
      ckpt = servedContext(readHfCheckpoint(args["from-hf"]));
    } catch (e) {
      fail(`${args["from-hf"]}: ${(e as Error).message}`);
    }
    const weightsHash = sha256Hex(new Uint8Array(Buffer.concat([...ckpt.weights.values()].map((w) => Buffer.from(w.buffer, w.byteOffset, w.byteLength)))));
    input = {
      arch: ckpt.arch, weights: ckpt.weights, tokenizerJson: ckpt.tokenizerJson, tokenizerConfig: ckpt.tokenizerConfig, generationConfig: ckpt.generationConfig,
      source: { kind: "huggingface" as const, architectures: ckpt.architectures, dtype: ckpt.dtype, weights_sha256: weightsHash },
    };
  } else if (args["from-gguf"]) {
    process.stderr.write(`reading ${args["from-gguf"]} …\n`);
    let ckpt;
    let bytes: Uint8Array;
    try {
      bytes = new Uint8Array(readFileSync(args["from-gguf"]));
      ckpt = servedContext(readGgufCheckpoint(bytes));
    } catch (e) {
      fail(`${args["from-gguf"]}: ${(e as Error).message}`);
    }
    input = {
      arch: ckpt.arch, weights: ckpt.weights, tokenizerJson: ckpt.tokenizerJson, tokenizerConfig: ckpt.tokenizerConfig, generationConfig: ckpt.generationConfig,
      source: { kind: "gguf" as const, name: ckpt.modelName, sha256: sha256Hex(bytes), tensor_types: ckpt.tensorTypes },
      carried: ckpt.blocks,
    };
  } else {
    const preset = PRESETS[args.preset];
    if (!preset) fail(`unknown --preset "${args.preset}" (${Object.keys(PRESETS).join(", ")})`);
    const heads = int(args.heads, "--heads") ?? preset.num_attention_heads;
    const hidden = int(args.hidden, "--hidden") ?? preset.hidden_size;
    const arch: Architecture = {
      family: "llama", model_type: args.bias ? "qwen2" : "llama", ...preset,
      vocab_size: int(args.vocab, "--vocab") ?? preset.vocab_size, hidden_size: hidden,
      intermediate_size: int(args.intermediate, "--intermediate") ?? preset.intermediate_size,
      num_hidden_layers: int(args.layers, "--layers") ?? preset.num_hidden_layers, num_attention_heads: heads,
      num_key_value_heads: int(args["kv-heads"], "--kv-heads") ?? preset.num_key_value_heads,
      head_dim: args.hidden || args.heads ? hidden / heads : preset.head_dim,
      max_position_embeddings: context ?? preset.max_position_embeddings,
      rope_theta: args["rope-theta"] ? Number(args["rope-theta"]) : preset.rope_theta,
      tie_word_embeddings: args.tied ?? preset.tie_word_embeddings, attention_bias: args.bias ?? preset.attention_bias,
    };
    const seed = int(args.seed, "--seed") ?? 1;
    process.stderr.write(`training a ${arch.vocab_size}-token BPE tokenizer …\n`);
    const tok = buildTokenizer({ corpus: DEFAULT_CORPUS, vocabSize: arch.vocab_size, modelMaxLength: arch.max_position_embeddings });
    process.stderr.write(`drawing random weights (seed ${seed}) …\n`);
    input = {
      arch, weights: randomLlamaWeights(arch, seed), tokenizerJson: tok.tokenizerJson, tokenizerConfig: tok.tokenizerConfig,
      generationConfig: { eos_token_id: tok.specialTokens.eos, pad_token_id: tok.specialTokens.pad },
      source: { kind: "random" as const, seed },
    };
  }
  const int4Activations = args["int4-activations"];
  if (int4Activations !== undefined && int4Activations !== "fp32" && int4Activations !== "block") fail(`--int4-activations must be fp32 or block, got "${int4Activations}"`);
  const int8Activations = args["int8-activations"];
  if (int8Activations !== undefined && int8Activations !== "row" && int8Activations !== "tensor" && int8Activations !== "block") fail(`--int8-activations must be row, tensor or block, got "${int8Activations}"`);
  let smooth;
  if (args.smooth !== undefined) {
    const alpha = Number(args.smooth);
    if (!(alpha > 0 && alpha <= 1)) fail(`--smooth must be in (0, 1], got "${args.smooth}"`);
    if (format !== "int8" || input.source.kind === "random") fail("--smooth applies to int8 packages built from a checkpoint");
    process.stderr.write(`calibrating int8 smoothing (α = ${alpha}) …\n`);
    const ranges = await calibrateActivations(input.arch, input.weights, calibrationSequences({ tokenizerJson: input.tokenizerJson, tokenizerConfig: input.tokenizerConfig }, 4, 512));
    smooth = { scales: smoothingScales(input.arch, input.weights, ranges, alpha), alpha };
  }
  process.stderr.write(`building the ${format} graph …\n`);
  const blockSize = int(args["block-size"], "--block-size");
  const maxRank = int(args["max-rank"], "--max-rank");
  const splitMib = args["split-mib"] === undefined ? undefined : Number(args["split-mib"]);
  if (splitMib !== undefined && !(splitMib > 0)) fail(`--split-mib must be a positive number of MiB, got "${args["split-mib"]}"`);
  const { files, manifest } = assembleModelPackage({ name, format, ...input, ...(splitMib ? { splitWeightsBytes: Math.floor(splitMib * 2 ** 20) } : {}), ...(smooth ? { smooth } : {}), ...(int8Activations ? { int8Activations } : {}), ...(int4Activations ? { int4Activations } : {}), ...(args["split-8bit"] ? { splitEightBit: true } : {}), ...(args.dora ? { dora: true } : {}), ...(args.batch ? { batch: true } : {}), ...(blockSize ? { blockSize } : {}), ...(maxRank ? { maxRank } : {}) });
  writeModelPackage(args.out, files);
  const bytes = Object.values(files).reduce((a, b) => a + b.byteLength, 0);
  console.log(
    JSON.stringify({ out: args.out, name, format, parameters: manifest.parameters, bytes, weights_bytes: manifest.files.weights.bytes, seconds: +((performance.now() - started) / 1000).toFixed(1) }),
  );
}

main().catch((e: Error) => fail(e.message));
