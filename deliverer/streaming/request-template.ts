/**
 * A partner's request templates compiled once, then filled per data sync request. Each macro is written the way the
 * place it lands in needs, so a value can never break the request:
 * - url (path and query): percent-encoded; ${SEGMENTS} is each code encoded, joined with "," (commas stay readable).
 * - JSON body (Content-Type containing "json", or no Content-Type and a body starting with { or [): inside a string
 *   literal the value is JSON-escaped ("${SEGMENTS}" is the codes joined with ","); outside one it is a JSON value
 *   (${PARTNER_ID} a number, ${SEGMENTS} an array of strings, the others strings with their quotes).
 * - form body (application/x-www-form-urlencoded): percent-encoded like the url.
 * - headers and other bodies: the text as is; ${SEGMENTS} joined with ",".
 * ${EXPIRES_AT} is ISO 8601 UTC in whole seconds (2026-12-23T00:00:00Z). Where codes are joined with "," and not
 * encoded, a code holding a "," is refused (it could not be split back), as is a line break in a header.
 */
import type { HeaderSetting, PartnerStreamingSettings } from './streaming-settings.ts';
import type { SyncRequest } from '../../queue-bridge/index.ts';

/** Macros of streaming templates (the same names config/ checks). */
export const REQUEST_MACROS = ['REQUEST_ID', 'PARTNER_ID', 'PARTNER_USER_ID', 'SEGMENTS', 'EXPIRES_AT', 'PRIORITY'] as const;
type Macro = (typeof REQUEST_MACROS)[number];

/** The header every attempt carries so a partner can drop repeats of a request it already took. */
export const IDEMPOTENCY_HEADER = 'idempotency-key';

/** A template the syncer cannot use; found when the syncer starts, names the partner and the field. */
export class TemplateError extends Error {
  override readonly name = 'TemplateError';
}

/** One request's values cannot be written into its template; the request is dead-lettered, never retried. */
export class RequestBuildError extends Error {
  override readonly name = 'RequestBuildError';
}

/** One HTTP request to send on the partner's pool. */
export interface BuiltRequest {
  /** Path and query, starting with "/". */
  path: string;
  method: 'GET' | 'POST' | 'PUT';
  headers: Record<string, string>;
  body?: string;
}

/** A partner's templates, compiled. */
export interface CompiledRequestTemplate {
  /** scheme://host:port of every request: one connection pool per origin. */
  origin: string;
  build(request: SyncRequest): BuiltRequest;
}

type Context = 'url' | 'form' | 'json-string' | 'json-value' | 'text' | 'header';
type Part = string | { macro: Macro; context: Context };

const MACRO = /\$\{([A-Z_]+)\}/g;
const LINE_BREAK = /[\r\n\0]/;

/** Compiles a partner's url, headers and body; throws TemplateError naming the partner and field. */
export function compileRequestTemplate(settings: PartnerStreamingSettings): CompiledRequestTemplate {
  const where = `partner ${settings.name} (${settings.partnerId}) streaming`;
  const { origin, rest } = splitUrl(settings.url, `${where}.url`);
  const pathParts = parse(rest, () => 'url', `${where}.url`);

  const fixedHeaders: Record<string, string> = {};
  const templatedHeaders: [string, Part[]][] = [];
  let contentType: string | undefined;
  for (const [name, value] of Object.entries(settings.headers)) {
    const lower = name.toLowerCase();
    if (lower === IDEMPOTENCY_HEADER) {
      throw new TemplateError(`${where}.headers.${name}: the syncer sets Idempotency-Key from the request id itself; remove this header`);
    }
    const text = headerText(value);
    if (lower === 'content-type') contentType = text;
    if (typeof value !== 'string' || !text.includes('${')) {
      if (LINE_BREAK.test(text)) throw new TemplateError(`${where}.headers.${name}: a header value cannot hold a line break; remove it`);
      fixedHeaders[lower] = text;
    } else {
      templatedHeaders.push([lower, parse(text, () => 'header', `${where}.headers.${name}`)]);
    }
  }

  let bodyParts: Part[] | undefined;
  if (settings.body !== undefined) {
    if (settings.method === 'GET') throw new TemplateError(`${where}.body: a GET request carries no body; use POST or PUT, or move the data into the url`);
    const kind = bodyKind(contentType, settings.body);
    if (contentType === undefined) fixedHeaders['content-type'] = kind === 'json' ? 'application/json' : 'text/plain; charset=utf-8';
    const context = kind === 'json' ? jsonContexts(settings.body) : () => kind;
    bodyParts = parse(settings.body, context, `${where}.body`);
  }

  return {
    origin,
    build(request) {
      const headers: Record<string, string> = { ...fixedHeaders };
      for (const [name, parts] of templatedHeaders) headers[name] = render(parts, request);
      headers[IDEMPOTENCY_HEADER] = request.requestId;
      const built: BuiltRequest = { path: render(pathParts, request), method: settings.method, headers };
      if (bodyParts) built.body = render(bodyParts, request);
      return built;
    },
  };
}

function headerText(value: HeaderSetting): string {
  return typeof value === 'string' ? value : value.secret;
}

/** Splits the url into its origin (no macros allowed: it picks the connection pool) and the path with query. */
function splitUrl(url: string, where: string): { origin: string; rest: string } {
  const match = /^(https?:\/\/[^/?#]*)(.*)$/i.exec(url);
  if (!match) throw new TemplateError(`${where}: expected an http:// or https:// URL, got ${JSON.stringify(url)}`);
  const [, originText = '', restText = ''] = match;
  if (originText.includes('${')) {
    throw new TemplateError(`${where}: macros may appear in the path and query only, not in the host; got ${JSON.stringify(url)}`);
  }
  let origin: string;
  try {
    origin = new URL(originText).origin;
  } catch {
    throw new TemplateError(`${where}: ${JSON.stringify(originText)} is not a valid scheme://host[:port]`);
  }
  const withoutFragment = restText.replace(/#.*$/, '');
  return { origin, rest: withoutFragment.startsWith('/') ? withoutFragment : `/${withoutFragment}` };
}

function bodyKind(contentType: string | undefined, body: string): 'json' | 'form' | 'text' {
  if (contentType === undefined) return /^\s*[[{]/.test(body) ? 'json' : 'text';
  const type = contentType.toLowerCase();
  if (type.includes('json')) return 'json';
  if (type.includes('application/x-www-form-urlencoded')) return 'form';
  return 'text';
}

/** For a JSON template: whether the macro starting at `offset` sits inside a string literal. */
function jsonContexts(template: string): (offset: number) => Context {
  const inString = new Set<number>();
  let quoted = false;
  for (let i = 0; i < template.length; i++) {
    const c = template[i];
    if (c === '$' && template[i + 1] === '{') {
      if (quoted) inString.add(i);
      const end = template.indexOf('}', i);
      if (end > i) i = end;
    } else if (quoted && c === '\\') {
      i++;
    } else if (c === '"') {
      quoted = !quoted;
    }
  }
  return (offset) => (inString.has(offset) ? 'json-string' : 'json-value');
}

function parse(template: string, contextAt: (offset: number) => Context, where: string): Part[] {
  const parts: Part[] = [];
  let last = 0;
  for (const match of template.matchAll(MACRO)) {
    const name = match[1] as Macro;
    if (!(REQUEST_MACROS as readonly string[]).includes(name)) {
      throw new TemplateError(`${where}: unknown macro \${${name}}; known macros: ${REQUEST_MACROS.map((m) => `\${${m}}`).join(', ')}`);
    }
    if (match.index > last) parts.push(template.slice(last, match.index));
    parts.push({ macro: name, context: contextAt(match.index) });
    last = match.index + match[0].length;
  }
  if (last < template.length) parts.push(template.slice(last));
  if (parts.some((p) => typeof p === 'string' && p.includes('${'))) {
    throw new TemplateError(`${where}: a "\${" is not a macro (write macros as \${NAME} with a known name)`);
  }
  return parts;
}

function render(parts: readonly Part[], request: SyncRequest): string {
  let out = '';
  for (const part of parts) out += typeof part === 'string' ? part : fill(part.macro, part.context, request);
  return out;
}

function fill(macro: Macro, context: Context, request: SyncRequest): string {
  if (macro === 'SEGMENTS') return segments(request, context);
  if (context === 'json-value' && macro === 'PARTNER_ID') return String(request.partnerId);
  const text = macroText(macro, request);
  switch (context) {
    case 'url':
    case 'form':
      return encodeURIComponent(text);
    case 'json-string':
      return JSON.stringify(text).slice(1, -1);
    case 'json-value':
      return JSON.stringify(text);
    case 'header':
      if (LINE_BREAK.test(text)) {
        throw new RequestBuildError(`request ${request.requestId}: \${${macro}} ${JSON.stringify(text)} holds a line break and cannot go into a header`);
      }
      return text;
    case 'text':
      return text;
  }
}

function macroText(macro: Exclude<Macro, 'SEGMENTS'>, request: SyncRequest): string {
  switch (macro) {
    case 'REQUEST_ID':
      return request.requestId;
    case 'PARTNER_ID':
      return String(request.partnerId);
    case 'PARTNER_USER_ID':
      return request.partnerUserId;
    case 'PRIORITY':
      return request.priority;
    case 'EXPIRES_AT':
      return isoSeconds(request.expiresAt, request.requestId);
  }
}

function segments(request: SyncRequest, context: Context): string {
  const codes = request.segments;
  if (context === 'url' || context === 'form') return codes.map(encodeURIComponent).join(',');
  if (context === 'json-value') return JSON.stringify(codes);
  for (const code of codes) {
    if (code.includes(',')) {
      throw new RequestBuildError(
        `request ${request.requestId}: segment code ${JSON.stringify(code)} contains ",", the separator of \${SEGMENTS} here; put \${SEGMENTS} in the url or as a JSON value (unquoted) instead`,
      );
    }
    if (context === 'header' && LINE_BREAK.test(code)) {
      throw new RequestBuildError(`request ${request.requestId}: segment code ${JSON.stringify(code)} holds a line break and cannot go into a header`);
    }
  }
  const joined = codes.join(',');
  return context === 'json-string' ? JSON.stringify(joined).slice(1, -1) : joined;
}

// Requests of one run mostly share their expiry (same day, same expiryDays): format each distinct value once.
let lastExpiryMs = Number.NaN;
let lastExpiryText = '';

function isoSeconds(ms: number, requestId: string): string {
  if (ms === lastExpiryMs) return lastExpiryText;
  if (!Number.isFinite(ms) || Math.abs(ms) > 8.64e15) {
    throw new RequestBuildError(`request ${requestId}: expires_at ${String(ms)} is not a valid time`);
  }
  lastExpiryText = `${new Date(Math.floor(ms / 1000) * 1000).toISOString().slice(0, 19)}Z`;
  lastExpiryMs = ms;
  return lastExpiryText;
}
