/**
 * Finds where a top-level member's value sits in raw JSON text.
 *
 * Why not JSON.parse + JSON.stringify: TCB info and QE identity signatures cover the exact bytes Intel
 * served. Re-serialising only reproduces them when the body happens to be compact ASCII JSON with
 * integers; slicing the original text is right for every body.
 */

export class JsonSpanError extends Error {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(`${message} at offset ${offset}`);
    this.name = 'JsonSpanError';
  }
}

export interface JsonSpan {
  start: number;
  end: number; // exclusive
}

const WS = new Set([0x20, 0x09, 0x0a, 0x0d]);

function skipWs(text: string, i: number): number {
  while (i < text.length && WS.has(text.charCodeAt(i))) i++;
  return i;
}

/** Index just past the string literal that starts at `i` (which must be a quote). */
function skipString(text: string, i: number): number {
  if (text[i] !== '"') throw new JsonSpanError('expected a string', i);
  i++;
  while (i < text.length) {
    const c = text[i];
    if (c === '\\') i += 2;
    else if (c === '"') return i + 1;
    else i++;
  }
  throw new JsonSpanError('unterminated string', i);
}

/** Index just past the JSON value that starts at `i`. Only delimits; full validation is JSON.parse's job. */
function skipValue(text: string, i: number): number {
  const c = text[i];
  if (c === '"') return skipString(text, i);
  if (c === '{' || c === '[') {
    let depth = 0;
    while (i < text.length) {
      const d = text[i];
      if (d === '"') {
        i = skipString(text, i);
        continue;
      }
      if (d === '{' || d === '[') depth++;
      else if (d === '}' || d === ']') {
        depth--;
        if (depth === 0) return i + 1;
      }
      i++;
    }
    throw new JsonSpanError('unterminated object or array', i);
  }
  // number, true, false, null: runs until a delimiter
  const start = i;
  while (i < text.length && !WS.has(text.charCodeAt(i)) && text[i] !== ',' && text[i] !== '}' && text[i] !== ']') i++;
  if (i === start) throw new JsonSpanError('expected a value', i);
  return i;
}

/**
 * Spans of every top-level member value of a JSON object text, by key (the first occurrence wins,
 * as a duplicate key in signed collateral is itself suspicious and JSON.parse would keep the last).
 * Throws JsonSpanError if the text is not a JSON object or is not valid JSON.
 */
export function topLevelSpans(text: string): Map<string, JsonSpan> {
  try {
    JSON.parse(text);
  } catch (err) {
    throw new JsonSpanError(`not valid JSON (${(err as Error).message})`, 0);
  }
  const spans = new Map<string, JsonSpan>();
  let i = skipWs(text, 0);
  if (text[i] !== '{') throw new JsonSpanError('expected a JSON object', i);
  i = skipWs(text, i + 1);
  if (text[i] === '}') return spans;
  for (;;) {
    const keyStart = i;
    const keyEnd = skipString(text, i);
    const key = JSON.parse(text.slice(keyStart, keyEnd)) as string;
    i = skipWs(text, keyEnd);
    if (text[i] !== ':') throw new JsonSpanError('expected ":"', i);
    i = skipWs(text, i + 1);
    const start = i;
    const end = skipValue(text, i);
    if (!spans.has(key)) spans.set(key, { start, end });
    i = skipWs(text, end);
    if (text[i] === ',') {
      i = skipWs(text, i + 1);
      continue;
    }
    if (text[i] === '}') return spans;
    throw new JsonSpanError('expected "," or "}"', i);
  }
}

/** The exact source text of a top-level member's value, or undefined when the member is absent. */
export function rawMemberText(text: string, key: string): string | undefined {
  const span = topLevelSpans(text).get(key);
  return span ? text.slice(span.start, span.end) : undefined;
}
