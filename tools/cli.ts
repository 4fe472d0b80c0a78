/**
 * `lora-edge`: the command line for a lora-edge Worker's admin and chat APIs.
 *
 *   lora-edge push ./my-adapter --name support [--domain support]
 *   lora-edge list
 *   lora-edge map support support@3
 *   lora-edge chat "Where is my parcel?" --model auto --stream
 *
 * The endpoint and admin token come from `--url` / `--token` or `LORA_EDGE_URL` / `LORA_EDGE_TOKEN`.
 * `main` takes its I/O as arguments so tests can drive it against a local server.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { parseArgs, type ParseArgsConfig } from "node:util";

export type CliIo = {
  env: Record<string, string | undefined>;
  stdout: { write(s: string): unknown };
  stderr: { write(s: string): unknown; isTTY?: boolean };
  fetch: typeof fetch;
};

const GLOBAL_HELP = `Usage: lora-edge <command> [options]

Commands:
  push <peft-dir> --name <name> [--domain <domain>]   upload a PEFT adapter (next version), optionally map a domain to it
  list                                                 registered adapters and domains
  map <domain> <adapter>[@<version>]                   map a domain to an adapter version (latest without @)
  chat "<message>" [--model <model>] [--stream]        one chat completion (model: auto, base, <adapter>[@v])
  route "<message>"                                    the routing decision, without generating
  delete <adapter>[@<version>]                         delete an adapter (all versions without @)

Every command takes --help, and:
  --url <url>       the Worker (default $LORA_EDGE_URL, else http://localhost:8787)
  --token <token>   the admin token (default $LORA_EDGE_TOKEN)`;

const COMMON = { url: { type: "string" }, token: { type: "string" }, help: { type: "boolean", short: "h" } } as const;

type Command = { usage: string; options: ParseArgsConfig["options"]; positionals: number; run(ctx: Ctx, args: string[], opts: Record<string, string | boolean | undefined>): Promise<void> };
type Ctx = { io: CliIo; url: string; token: string | undefined };

const COMMANDS: Record<string, Command> = {
  push: {
    usage: `Usage: lora-edge push <peft-dir> --name <name> [--domain <domain>] [--threshold <p>]

Uploads <peft-dir>/adapter_config.json and <peft-dir>/adapter_model.safetensors (what PEFT's
save_pretrained writes) as the next version of <name>, with a progress bar on stderr, and prints the
adapter's manifest. With --domain, maps that domain to the new version.`,
    options: { name: { type: "string" }, domain: { type: "string" }, threshold: { type: "string" } },
    positionals: 1,
    async run(ctx, [dir], opts) {
      const name = required(opts, "name");
      const [config, weights] = await Promise.all([readFile(join(dir!, "adapter_config.json")), readFile(join(dir!, "adapter_model.safetensors"))]).catch((e: Error) => {
        throw new CliError(`cannot read the adapter in ${dir}: ${e.message}`);
      });
      const { body, type, length } = multipart({ "adapter_config.json": new Uint8Array(config), "adapter_model.safetensors": new Uint8Array(weights) });
      const manifest = await request(ctx, "PUT", `/v1/adapters/${encodeURIComponent(name)}`, {
        body: withProgress(body, length, ctx.io.stderr),
        headers: { "content-type": type, "content-length": String(length) },
      });
      ctx.io.stdout.write(JSON.stringify(manifest, null, 2) + "\n");
      if (typeof opts["domain"] === "string") {
        const m = manifest as { name: string; version: number };
        await request(ctx, "PUT", `/v1/domains/${encodeURIComponent(opts["domain"])}`, { json: { adapter: m.name, version: m.version, ...thresholdOf(opts) } });
        ctx.io.stderr.write(`mapped domain ${opts["domain"]} → ${m.name}@${m.version}\n`);
      }
    },
  },
  list: {
    usage: `Usage: lora-edge list [--json]

Lists every registered adapter version and every domain mapping.`,
    options: { json: { type: "boolean" } },
    positionals: 0,
    async run(ctx, _args, opts) {
      const [adapters, domains] = (await Promise.all([request(ctx, "GET", "/v1/adapters"), request(ctx, "GET", "/v1/domains")])) as [{ data: Record<string, unknown>[] }, { data: Record<string, unknown>[] }];
      if (opts["json"]) {
        ctx.io.stdout.write(JSON.stringify({ adapters: adapters.data, domains: domains.data }, null, 2) + "\n");
        return;
      }
      ctx.io.stdout.write(table(["adapter", "rank", "alpha", "targets", "dtype", "bytes", "created"], adapters.data.map((a) => [a["id"], a["rank"], a["alpha"], (a["targets"] as string[]).join(","), a["dtype"], a["bytes"], a["created"]])));
      ctx.io.stdout.write("\n" + table(["domain", "adapter", "threshold", "examples"], domains.data.map((d) => [d["domain"], `${d["adapter"]}@${d["version"]}`, d["threshold"] ?? "default", d["examples"]])));
    },
  },
  map: {
    usage: `Usage: lora-edge map <domain> <adapter>[@<version>] [--threshold <p>]

Maps <domain> to an adapter version (the latest when no @version is given); chat requests the
router sends to <domain> then use it. --threshold sets the router confidence below which <domain>
falls back to the base model.`,
    options: { threshold: { type: "string" } },
    positionals: 2,
    async run(ctx, [domain, adapter], opts) {
      const mapping = await request(ctx, "PUT", `/v1/domains/${encodeURIComponent(domain!)}`, { json: { adapter, ...thresholdOf(opts) } });
      ctx.io.stdout.write(JSON.stringify(mapping, null, 2) + "\n");
    },
  },
  chat: {
    usage: `Usage: lora-edge chat "<message>" [--model <model>] [--stream] [--max-tokens <n>] [--seed <n>] [--temperature <t>] [--system "<text>"]

Sends one chat completion and prints the reply; stderr says which domain and adapter served it.
--model: auto (the router, default), base, <adapter> or <adapter>@<version>.`,
    options: { model: { type: "string" }, stream: { type: "boolean" }, "max-tokens": { type: "string" }, seed: { type: "string" }, temperature: { type: "string" }, system: { type: "string" } },
    positionals: 1,
    async run(ctx, [message], opts) {
      const body = {
        model: (opts["model"] as string | undefined) ?? "auto",
        messages: [...(typeof opts["system"] === "string" ? [{ role: "system", content: opts["system"] }] : []), { role: "user", content: message }],
        stream: opts["stream"] === true,
        ...numberOpt(opts, "max-tokens", "max_tokens", true),
        ...numberOpt(opts, "seed", "seed", true),
        ...numberOpt(opts, "temperature", "temperature", false),
      };
      const res = await send(ctx, "POST", "/v1/chat/completions", { json: body });
      const h = res.headers;
      ctx.io.stderr.write(`[${h.get("x-lora-adapter")} · domain ${h.get("x-lora-domain")} · confidence ${h.get("x-router-confidence")} · ${h.get("x-lora-route-reason")}]\n`);
      if (!body.stream) {
        const json = (await res.json()) as { choices: { message: { content: string } }[] };
        ctx.io.stdout.write(json.choices[0]!.message.content + "\n");
        return;
      }
      for await (const data of sseData(res.body!)) {
        if (data === "[DONE]") break;
        const chunk = JSON.parse(data) as { choices?: { delta?: { content?: string } }[]; error?: { message: string } };
        if (chunk.error) throw new CliError(`stream failed: ${chunk.error.message}`);
        ctx.io.stdout.write(chunk.choices?.[0]?.delta?.content ?? "");
      }
      ctx.io.stdout.write("\n");
    },
  },
  route: {
    usage: `Usage: lora-edge route "<message>"

Prints the routing decision for a message ({domain, confidence, scores, reason, adapter}) without generating.`,
    options: {},
    positionals: 1,
    async run(ctx, [text]) {
      ctx.io.stdout.write(JSON.stringify(await request(ctx, "POST", "/v1/route", { json: { text } }), null, 2) + "\n");
    },
  },
  delete: {
    usage: `Usage: lora-edge delete <adapter>[@<version>]

Deletes one version, or every version without @version. Refused (409) while a domain maps to it.`,
    options: {},
    positionals: 1,
    async run(ctx, [ref]) {
      ctx.io.stdout.write(JSON.stringify(await request(ctx, "DELETE", `/v1/adapters/${encodeURIComponent(ref!)}`), null, 2) + "\n");
    },
  },
};

/** A failure worth one line on stderr and exit code 1. */
export class CliError extends Error {}

/**
 * Run the CLI; resolves to the exit code.
 *
 * @example process.exitCode = await main(process.argv.slice(2), { env: process.env, stdout: process.stdout, stderr: process.stderr, fetch })
 */
export async function main(argv: string[], io: CliIo): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === "--help" || name === "-h" || name === "help") {
    io.stdout.write(GLOBAL_HELP + "\n");
    return name ? 0 : 2;
  }
  const command = COMMANDS[name];
  if (!command) {
    io.stderr.write(`lora-edge: unknown command ${JSON.stringify(name)}; see lora-edge --help\n`);
    return 2;
  }
  let parsed;
  try {
    parsed = parseArgs({ args: rest, options: { ...COMMON, ...command.options }, allowPositionals: true, strict: true });
  } catch (e) {
    io.stderr.write(`lora-edge ${name}: ${(e as Error).message}\n${command.usage}\n`);
    return 2;
  }
  const opts = parsed.values as Record<string, string | boolean | undefined>;
  if (opts["help"]) {
    io.stdout.write(command.usage + "\n" + COMMON_HELP + "\n");
    return 0;
  }
  if (parsed.positionals.length !== command.positionals) {
    io.stderr.write(`lora-edge ${name}: expected ${command.positionals} argument(s), got ${parsed.positionals.length}\n${command.usage}\n`);
    return 2;
  }
  const url = ((opts["url"] as string | undefined) ?? io.env["LORA_EDGE_URL"] ?? "http://localhost:8787").replace(/\/+$/, "");
  const token = (opts["token"] as string | undefined) ?? io.env["LORA_EDGE_TOKEN"];
  try {
    await command.run({ io, url, token }, parsed.positionals, opts);
    return 0;
  } catch (e) {
    io.stderr.write(`lora-edge ${name}: ${e instanceof CliError ? e.message : (e as Error).message}\n`);
    return 1;
  }
}

const COMMON_HELP = `
Common options:
  --url <url>       the Worker (default $LORA_EDGE_URL, else http://localhost:8787)
  --token <token>   the admin token (default $LORA_EDGE_TOKEN)
  -h, --help        this text`;

type Body = { json?: unknown; body?: BodyInit; headers?: Record<string, string> };

/** A request whose non-2xx answer becomes a CliError with the server's OpenAI-style error. */
async function send(ctx: Ctx, method: string, path: string, b: Body = {}): Promise<Response> {
  const headers: Record<string, string> = { ...b.headers };
  if (ctx.token) headers["authorization"] = `Bearer ${ctx.token}`;
  let body = b.body;
  if (b.json !== undefined) {
    headers["content-type"] = "application/json";
    body = JSON.stringify(b.json);
  }
  let res: Response;
  try {
    res = await ctx.io.fetch(`${ctx.url}${path}`, { method, headers, body: body ?? null, ...(body instanceof ReadableStream ? { duplex: "half" } : {}) } as RequestInit);
  } catch (e) {
    throw new CliError(`cannot reach ${ctx.url}: ${(e as Error).message}`);
  }
  if (!res.ok) {
    const text = await res.text();
    let detail = text.slice(0, 300);
    try {
      const err = (JSON.parse(text) as { error: { code: string; message: string } }).error;
      detail = `${err.code}: ${err.message}`;
    } catch {
      // not OpenAI's error shape: show the start of the body
    }
    const hint = res.status === 401 && !ctx.token ? " (set --token or LORA_EDGE_TOKEN)" : "";
    throw new CliError(`${res.status} ${detail}${hint}`);
  }
  return res;
}

async function request(ctx: Ctx, method: string, path: string, b: Body = {}): Promise<unknown> {
  return (await send(ctx, method, path, b)).json();
}

function required(opts: Record<string, unknown>, name: string): string {
  const v = opts[name];
  if (typeof v !== "string" || v === "") throw new CliError(`--${name} is required`);
  return v;
}

function thresholdOf(opts: Record<string, unknown>): { threshold?: number } {
  return numberOpt(opts, "threshold", "threshold", false) as { threshold?: number };
}

function numberOpt(opts: Record<string, unknown>, flag: string, field: string, integer: boolean): Record<string, number> {
  const v = opts[flag];
  if (typeof v !== "string") return {};
  const n = Number(v);
  if (!Number.isFinite(n) || (integer && !Number.isInteger(n))) throw new CliError(`--${flag} must be ${integer ? "an integer" : "a number"}, got ${JSON.stringify(v)}`);
  return { [field]: n };
}

/**
 * A multipart/form-data body of named files, built by hand so its length is known up front.
 *
 * @example multipart({ "adapter_config.json": bytes }) // { body: Uint8Array, type: "multipart/form-data; boundary=…", length }
 */
export function multipart(files: Record<string, Uint8Array>): { body: Uint8Array; type: string; length: number } {
  const boundary = `lora-edge-${Math.random().toString(36).slice(2)}${Date.now().toString(36)}`;
  const enc = new TextEncoder();
  const parts: Uint8Array[] = [];
  for (const [name, bytes] of Object.entries(files)) {
    parts.push(enc.encode(`--${boundary}\r\nContent-Disposition: form-data; name="${name}"; filename="${name}"\r\nContent-Type: application/octet-stream\r\n\r\n`), bytes, enc.encode("\r\n"));
  }
  parts.push(enc.encode(`--${boundary}--\r\n`));
  const body = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    body.set(p, at);
    at += p.length;
  }
  return { body, type: `multipart/form-data; boundary=${boundary}`, length: body.length };
}

/** The body as a stream of 64 KiB chunks, drawing a progress bar on stderr as they are sent. */
function withProgress(body: Uint8Array, total: number, stderr: CliIo["stderr"]): ReadableStream<Uint8Array> {
  const CHUNK = 64 * 1024;
  let sent = 0;
  const draw = () => {
    const width = 30;
    const filled = Math.round((sent / total) * width);
    const line = `uploading [${"#".repeat(filled)}${"-".repeat(width - filled)}] ${((sent / total) * 100).toFixed(0).padStart(3)}% ${(sent / 1024).toFixed(0)}/${(total / 1024).toFixed(0)} KiB`;
    stderr.write(stderr.isTTY ? `\r${line}` : sent === total ? `${line}\n` : "");
  };
  return new ReadableStream({
    pull(ctl) {
      if (sent >= total) {
        if (stderr.isTTY) stderr.write("\n");
        ctl.close();
        return;
      }
      const chunk = body.subarray(sent, Math.min(total, sent + CHUNK));
      sent += chunk.length;
      ctl.enqueue(chunk);
      draw();
    },
  });
}

/** The `data:` payloads of an SSE stream. */
async function* sseData(stream: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let buffer = "";
  for await (const chunk of stream as unknown as AsyncIterable<Uint8Array>) {
    buffer += decoder.decode(chunk, { stream: true });
    let end: number;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const event = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      for (const line of event.split("\n")) if (line.startsWith("data: ")) yield line.slice(6);
    }
  }
}

function table(head: string[], rows: unknown[][]): string {
  const cells = [head, ...rows.map((r) => r.map((c) => String(c)))];
  const widths = head.map((_, i) => Math.max(...cells.map((r) => r[i]!.length)));
  return cells.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join("  ").trimEnd()).join("\n") + "\n";
}
