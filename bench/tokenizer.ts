/**
 * Tokenizer stack benchmark: `@huggingface/tokenizers` + `@huggingface/jinja` against
 * `@huggingface/transformers` (and lora-edge's own runtime module on top of the former), for the
 * embedded demo tokenizer. Measures what decides the pick for a Worker:
 *  - bundle size: a tiny entry that builds a tokenizer, encodes and renders the chat template,
 *    bundled by esbuild as wrangler does (browser/worker conditions, ESM), minified; raw and gzipped;
 *  - cold start: a fresh Node process importing that bundle, constructing the tokenizer from the
 *    in-memory files, encoding once and rendering once (median of --runs);
 *  - encode throughput on the demo corpus with a fresh tokenizer each run (empty BPE cache).
 *
 * Usage: npx tsx bench/tokenizer.ts [--runs N] [--json] [--help]
 */
import { build } from "esbuild";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { gzipSync } from "node:zlib";
import { buildTokenizer } from "../src/builder/tokenizer.ts";
import { DEFAULT_CORPUS } from "../src/builder/corpus.ts";
import { median } from "./stats.ts";

const ROOT = resolve(import.meta.dirname, "..");

/** Each option is an entry module exporting `make(json, config) → { encode(text), render(messages) }`. */
const OPTIONS = [
  {
    name: "@huggingface/tokenizers + @huggingface/jinja",
    entry: `
      import { Tokenizer } from "@huggingface/tokenizers";
      import { Template } from "@huggingface/jinja";
      export function make(json, config) {
        const tok = new Tokenizer(json, config);
        const template = new Template(config.chat_template);
        return {
          encode: (text) => tok.encode(text, { add_special_tokens: false }).ids,
          render: (messages) => template.render({ messages, add_generation_prompt: true, eos_token: config.eos_token }),
        };
      }`,
  },
  {
    name: "@huggingface/transformers",
    entry: `
      import { PreTrainedTokenizer } from "@huggingface/transformers";
      export function make(json, config) {
        const tok = new PreTrainedTokenizer(json, config);
        return {
          encode: (text) => tok.encode(text, { add_special_tokens: false }),
          render: (messages) => tok.apply_chat_template(messages, { tokenize: false, add_generation_prompt: true }),
        };
      }`,
  },
  {
    name: "lora-edge src/runtime/tokenizer.ts (tokenizers + jinja + zod checks)",
    entry: `
      import { createTokenizer } from ${JSON.stringify(join(ROOT, "src/runtime/tokenizer.ts"))};
      export function make(tokenizerJson, tokenizerConfig) {
        const tok = createTokenizer({ tokenizerJson, tokenizerConfig });
        return { encode: (text) => tok.encode(text, { addSpecialTokens: false }), render: (messages) => tok.applyChatTemplate(messages).text };
      }`,
  },
] as const;

const MESSAGES = [
  { role: "system", content: "You are a helpful support agent." },
  { role: "user", content: "My package arrived damaged. Can I get a refund?" },
];

interface Result {
  option: string;
  bundleBytes: number;
  bundleGzipBytes: number;
  coldStartMs: number;
  encodeMBps: number;
  encodeTokensPerSec: number;
}

function usage(): never {
  console.log("Usage: npx tsx bench/tokenizer.ts [--runs N] [--json]\n  Bundle size, cold start and encode throughput of the two tokenizer stacks.");
  process.exit(0);
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args.includes("--help") || args.includes("-h")) usage();
  const runsAt = args.indexOf("--runs");
  const runs = runsAt >= 0 ? Number(args[runsAt + 1]) : 7;
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs must be a positive integer, got ${args[runsAt + 1]}`);
  const json = args.includes("--json");
  const log = (s: string) => json || console.error(s);

  const dir = mkdtempSync(join(tmpdir(), "lora-edge-bench-tok-"));
  log("training the demo tokenizer (DEFAULT_CORPUS, vocab 2048)");
  const t0 = performance.now();
  const built = buildTokenizer({ corpus: DEFAULT_CORPUS, vocabSize: 2048 });
  const trainMs = performance.now() - t0;
  // ~200 KB with new words in each copy (a letter swapped), so the trainer sees more distinct words too
  const copies = Math.ceil(200_000 / DEFAULT_CORPUS.length);
  const big = Array.from({ length: copies }, (_, i) => DEFAULT_CORPUS.replaceAll("e", String.fromCharCode(0x61 + i))).join("\n");
  const t1 = performance.now();
  buildTokenizer({ corpus: big, vocabSize: 2048 });
  const train200kMs = performance.now() - t1;
  const filesPath = join(dir, "files.json");
  writeFileSync(filesPath, JSON.stringify([built.tokenizerJson, built.tokenizerConfig]));

  const results: Result[] = [];
  for (const [i, option] of OPTIONS.entries()) {
    log(`${option.name}: bundling`);
    const outfile = join(dir, `option${i}.mjs`);
    await build({
      stdin: { contents: option.entry, resolveDir: ROOT, loader: "js" },
      bundle: true,
      minify: true,
      format: "esm",
      platform: "browser",
      conditions: ["workerd", "worker", "browser"],
      target: "es2022",
      outfile,
      logLevel: "error",
    });
    const bundle = readFileSync(outfile);

    log(`${option.name}: ${runs} cold starts`);
    const coldStarts = Array.from({ length: runs }, () => coldStartMs(outfile, filesPath));

    log(`${option.name}: encode throughput`);
    const { make } = (await import(pathToFileURL(outfile).href)) as { make: (json: unknown, config: unknown) => { encode(text: string): number[] } };
    const bytes = new TextEncoder().encode(DEFAULT_CORPUS).length;
    let tokens = 0;
    const encodeFresh = () => {
      const tok = make(built.tokenizerJson, built.tokenizerConfig); // fresh: empty BPE cache, like new prompts
      const start = performance.now();
      tokens = tok.encode(DEFAULT_CORPUS).length;
      return performance.now() - start;
    };
    for (let w = 0; w < 3; w++) encodeFresh(); // let the JIT settle, so options are compared warm
    const ms = median(Array.from({ length: runs }, encodeFresh));
    results.push({
      option: option.name,
      bundleBytes: bundle.length,
      bundleGzipBytes: gzipSync(bundle).length,
      coldStartMs: median(coldStarts),
      encodeMBps: bytes / 1e6 / (ms / 1e3),
      encodeTokensPerSec: tokens / (ms / 1e3),
    });
  }

  const report = { date: new Date().toISOString(), node: process.version, runs, trainMs, train200kMs, bigCorpusChars: big.length, results };
  if (json) {
    console.log(JSON.stringify(report, null, 2));
    return;
  }
  console.log(`node ${process.version}, median of ${runs} runs; builder (vocab 2048): demo corpus ${trainMs.toFixed(0)} ms, ${(big.length / 1e3).toFixed(0)} KB corpus ${train200kMs.toFixed(0)} ms`);
  console.log("| option | bundle (min) | gzipped | cold start | encode |");
  console.log("| --- | ---: | ---: | ---: | ---: |");
  for (const r of results) {
    console.log(
      `| ${r.option} | ${kb(r.bundleBytes)} | ${kb(r.bundleGzipBytes)} | ${r.coldStartMs.toFixed(0)} ms | ` +
        `${r.encodeMBps.toFixed(2)} MB/s (${(r.encodeTokensPerSec / 1e3).toFixed(0)}k tok/s) |`,
    );
  }
}

/** Import + construct + first encode + first render, timed inside a fresh Node process. */
function coldStartMs(bundle: string, filesPath: string): number {
  const script = `
    import { readFileSync } from "node:fs";
    const [json, config] = JSON.parse(readFileSync(${JSON.stringify(filesPath)}, "utf8"));
    const start = performance.now();
    const { make } = await import(${JSON.stringify(pathToFileURL(bundle).href)});
    const tok = make(json, config);
    tok.encode("Hello, where is my order?");
    tok.render(${JSON.stringify(MESSAGES)});
    console.log(performance.now() - start);`;
  return Number(execFileSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8" }).trim().split("\n").at(-1));
}

function kb(bytes: number): string {
  return `${(bytes / 1024).toFixed(1)} KiB`;
}

main().catch((e: unknown) => {
  console.error(`bench/tokenizer: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
