/**
 * A cheap "is this English?" check run before the classifier. The adapters and the classifier are
 * trained on English; other languages produce n-grams the model has never seen, so its confidence
 * on them means nothing, and they go to the base model instead. Two tests, both O(length):
 *   1. script: at least half of the letters must be Latin;
 *   2. function words: among the words that are very common function words of English or of the
 *      six most common other Latin-script languages, English must not be outnumbered (ties and
 *      texts with fewer than two such foreign words count as English).
 */

// Frequent function words that are not also common English words.
const FOREIGN_FUNCTION_WORDS = new Set([
  // Spanish
  "el", "los", "las", "del", "que", "y", "en", "una", "por", "para", "con", "es", "mi", "mis", "se", "su", "cuánto", "cuanto", "qué", "cómo", "dónde", "está", "tengo", "pero", "muy", "hola", "gracias", "puedo", "quiero", "necesito",
  // French
  "le", "les", "des", "et", "est", "une", "pour", "je", "ne", "pas", "mon", "ma", "mes", "vous", "nous", "avec", "dans", "sur", "qui", "toujours", "bonjour", "merci", "où", "commande", "mot", "c'est", "n'est",
  // German
  "der", "die", "das", "und", "ist", "nicht", "ich", "mein", "meine", "mit", "ein", "eine", "für", "wie", "wo", "noch", "auf", "bitte", "danke", "habe", "kann", "mehr", "sie", "es", "zu", "den", "dem", "ihr",
  // Italian
  "il", "di", "che", "è", "non", "mio", "mia", "come", "sono", "della", "grazie", "ciao", "perché", "questo",
  // Portuguese
  "os", "não", "um", "uma", "meu", "minha", "com", "está", "obrigado", "olá", "você", "pedido", "quando",
  // Dutch
  "het", "een", "en", "van", "ik", "niet", "mijn", "voor", "wat", "je", "met", "hoe", "waar", "graag", "bedankt",
]);
const ENGLISH_FUNCTION_WORDS = new Set([
  "the", "a", "an", "to", "is", "are", "was", "my", "i", "you", "your", "and", "of", "for", "it", "in", "on", "with", "do", "does", "can", "how", "what", "where", "why", "when", "this", "that", "have", "has", "not", "me", "we", "our", "please", "be", "at", "from", "there", "hi", "hello", "thanks", "would", "should", "could", "will", "just", "still", "any", "about",
]);

const LETTER = /\p{L}/gu;
const NON_LATIN_LETTER = /[^\P{L}\p{Script=Latin}]/gu;
const WORD = /[\p{L}\p{M}']+/gu;

/**
 * True when a normalised (lower-cased) text reads as English or has no letters at all.
 *
 * @example isLikelyEnglish("where is my order?") // → true
 * @example isLikelyEnglish("¿dónde está mi pedido?") // → false
 */
export function isLikelyEnglish(text: string): boolean {
  const letters = text.match(LETTER)?.length ?? 0;
  if (letters === 0) return true;
  const nonLatin = text.match(NON_LATIN_LETTER)?.length ?? 0;
  if (nonLatin * 2 > letters) return false;
  let english = 0;
  let foreign = 0;
  for (const [word] of text.matchAll(WORD)) {
    if (ENGLISH_FUNCTION_WORDS.has(word)) english++;
    else if (FOREIGN_FUNCTION_WORDS.has(word)) foreign++;
  }
  return foreign < 2 || foreign <= english;
}
