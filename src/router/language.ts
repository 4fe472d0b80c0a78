/**
 * A cheap "can the router read this language?" check run before the classifier. The router is
 * trained on English, Spanish, German, French and Portuguese; in other languages its n-grams are
 * noise and its confidence means nothing, so those messages go to the base model. Two tests, both
 * O(length):
 *   1. script: at least half of the letters must be Latin;
 *   2. function words: among the words that are very common function words of Italian or Dutch
 *      (the most common other Latin-script languages) or of the five routed languages, the
 *      unrouted ones must not win (texts with fewer than two Italian/Dutch function words pass).
 */

// Frequent function words of the routed languages.
const ROUTED_FUNCTION_WORDS = new Set([
  // English
  "the", "a", "an", "to", "is", "are", "was", "my", "i", "you", "your", "and", "of", "for", "it", "in", "on", "with", "do", "does", "can", "how", "what", "where", "why", "when", "this", "that", "have", "has", "not", "me", "we", "our", "please", "be", "at", "from", "there", "hi", "hello", "thanks", "would", "should", "could", "will", "just", "still", "any", "about",
  // Spanish
  "el", "los", "las", "del", "que", "y", "en", "una", "por", "para", "con", "es", "mi", "mis", "se", "su", "cuánto", "cuanto", "qué", "cómo", "dónde", "está", "tengo", "pero", "muy", "hola", "gracias", "puedo", "quiero", "necesito",
  // French
  "le", "les", "des", "et", "est", "une", "pour", "je", "ne", "pas", "mon", "ma", "mes", "vous", "nous", "avec", "dans", "sur", "qui", "toujours", "bonjour", "merci", "où", "c'est", "n'est",
  // German
  "der", "die", "das", "und", "ist", "nicht", "ich", "mein", "meine", "mit", "ein", "eine", "für", "wie", "wo", "noch", "auf", "bitte", "danke", "habe", "kann", "mehr", "sie", "es", "zu", "den", "dem", "ihr",
  // Portuguese
  "os", "não", "um", "uma", "meu", "minha", "com", "obrigado", "obrigada", "olá", "você", "vocês", "pedido", "quando", "tudo",
]);

// Frequent function words of Italian and Dutch that are not also function words of a routed language.
const UNROUTED_FUNCTION_WORDS = new Set([
  // Italian
  "il", "di", "che", "è", "non", "mio", "mia", "sono", "della", "grazie", "ciao", "perché", "questo", "gli", "anche", "ho", "vorrei", "buongiorno", "quanto", "costa",
  // Dutch
  "het", "een", "van", "ik", "niet", "mijn", "voor", "hoe", "waar", "graag", "bedankt", "wil", "jullie", "dank", "wel",
]);

const LETTER = /\p{L}/gu;
const NON_LATIN_LETTER = /[^\P{L}\p{Script=Latin}]/gu;
const WORD = /[\p{L}\p{M}']+/gu;

/**
 * True when a normalised (lower-cased) text reads as one of the routed languages, or has no letters.
 *
 * @example isRoutedLanguage("¿dónde está mi pedido?") // → true
 * @example isRoutedLanguage("ciao, non ho ricevuto il mio ordine") // → false
 * @example isRoutedLanguage("この注文はいつ届きますか") // → false
 */
export function isRoutedLanguage(text: string): boolean {
  const letters = text.match(LETTER)?.length ?? 0;
  if (letters === 0) return true;
  const nonLatin = text.match(NON_LATIN_LETTER)?.length ?? 0;
  if (nonLatin * 2 > letters) return false;
  let routed = 0;
  let unrouted = 0;
  for (const [word] of text.matchAll(WORD)) {
    if (ROUTED_FUNCTION_WORDS.has(word)) routed++;
    else if (UNROUTED_FUNCTION_WORDS.has(word)) unrouted++;
  }
  return unrouted < 2 || unrouted <= routed;
}
