/**
 * A chat request as the pipeline takes it, whatever API it arrived through: the route maps
 * OpenAI's request onto it (src/routes/chat.ts), another front end could map its own.
 */

/** Which model runs: `model` (`auto`, `base`, the base's name, `<adapter>[@<version>]`) or a weighted composition. */
export type ModelChoice = {
  model: string;
  /** Compose these adapters (overrides `model`'s adapter). */
  adapters?: { name: string; weight: number }[] | undefined;
};

export type ChatMessage = { role: string; content: string };

export type ChatInput = ModelChoice & {
  messages: ChatMessage[];
  /** Completion tokens at most; the limits' default when absent. */
  maxTokens?: number | undefined;
  temperature?: number | undefined;
  topP?: number | undefined;
  topK?: number | undefined;
  seed?: number | undefined;
  stop?: string[] | undefined;
  /** Aborts when the client goes away: generation stops and frees its memory. */
  signal?: AbortSignal | undefined;
};
