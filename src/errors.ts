/**
 * The one error type of lora-edge: a status, an OpenAI-style `code` and `type`, and the offending
 * `param`. Parts throw it at their edges; `src/routes/errors.ts` maps it to a response in one place.
 *
 * @example throw new LoraEdgeError(400, "invalid_adapter", "lora_A and lora_B ranks differ for q_proj", { param: "adapter_model.safetensors" })
 */
export type ErrorType = "invalid_request_error" | "authentication_error" | "not_found_error" | "conflict_error" | "server_error" | "service_unavailable" | "requests";

export class LoraEdgeError extends Error {
  override readonly name = "LoraEdgeError";
  readonly status: number;
  readonly code: string;
  readonly type: ErrorType;
  readonly param: string | null;
  /** Seconds a client should wait before retrying (429s, 503s). */
  readonly retryAfter: number | undefined;

  constructor(status: number, code: string, message: string, opts: { param?: string; type?: ErrorType; retryAfter?: number; cause?: unknown } = {}) {
    super(message, { cause: opts.cause });
    this.status = status;
    this.code = code;
    this.param = opts.param ?? null;
    this.retryAfter = opts.retryAfter;
    this.type = opts.type ?? defaultType(status);
  }

  /** OpenAI's error body: `{ error: { message, type, param, code } }`. */
  toJSON() {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }
}

function defaultType(status: number): ErrorType {
  if (status === 401 || status === 403) return "authentication_error";
  if (status === 404) return "not_found_error";
  if (status === 409) return "conflict_error";
  if (status === 429) return "requests"; // OpenAI's type for request-rate limits
  if (status === 503) return "service_unavailable";
  if (status >= 500) return "server_error";
  return "invalid_request_error";
}
