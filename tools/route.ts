/**
 * Routes messages with the trained router: one JSON line out per input line.
 *
 *   npx tsx tools/route.ts --file in.jsonl          # lines like {"text": "..."}
 *   echo '{"text":"where is my parcel"}' | npx tsx tools/route.ts
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { loadRouter } from "../src/router/artifact.ts";
import { routeText } from "../src/router/decision.ts";
import { parseJsonlLines } from "../src/router/dataset.ts";

const USAGE = `usage: npx tsx tools/route.ts [--file in.jsonl] [--artifact models/router/router.json]
  Reads JSONL lines with a "text" field (from --file, or stdin without it) and prints one line
  {"text", "domain", "confidence"} per input; domain is null when the request would go to the
  base model. Exits 1 with the line number on a line that is not a JSON object with a string text.`;

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { file: { type: "string" }, artifact: { type: "string", default: "models/router/router.json" }, help: { type: "boolean", short: "h" } }, strict: true });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  let artifactText: string;
  try {
    artifactText = readFileSync(values.artifact, "utf8");
  } catch {
    throw new Error(`cannot read ${values.artifact} (run npx tsx tools/train-router.ts)`);
  }
  const router = loadRouter(JSON.parse(artifactText));
  let input: string;
  if (values.file !== undefined) {
    try {
      input = readFileSync(values.file, "utf8");
    } catch {
      throw new Error(`cannot read ${values.file}`);
    }
  } else {
    if (process.stdin.isTTY) throw new Error("no --file given and nothing on stdin (try --help)");
    input = await readStdin();
  }
  const out = parseJsonlLines(input, (row, line) => {
    const text = typeof row === "object" && row !== null ? (row as { text?: unknown }).text : undefined;
    if (typeof text !== "string") throw new Error(`line ${line}: expected an object with a string "text" field`);
    const decision = routeText(router, text);
    return JSON.stringify({ text, domain: decision.domain, confidence: Number(decision.confidence.toFixed(4)) });
  });
  if (out.length > 0) process.stdout.write(out.join("\n") + "\n");
}

main().catch((error: unknown) => {
  console.error(`route: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
