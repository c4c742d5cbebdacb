/**
 * The bid URI the bus calls (`/segments?uid=${USER_ID}&region=${REGION}`): which query parameter carries which
 * macro, and a parser of request targets built for the hot path (no URL object, decoding only when needed).
 */

/** Macros the bus fills in. */
export const BID_MACROS = ['USER_ID', 'REGION', 'EXT_UID', 'DEVICE_ID'] as const;
export type BidMacro = (typeof BID_MACROS)[number];

/** Longest user id accepted (longer is a bad request). */
export const MAX_USER_ID_LENGTH = 256;

/** A parsed bid request: the values the listener uses. */
export interface BidRequest {
  userId: string;
  region: string;
}

/** Why a target is not a usable bid request. */
export type BidProblem = 'not-bid-path' | 'no-user-id' | 'bad-encoding' | 'bad-user-id';

const MACRO_VALUE = /^\$\{([A-Z_]+)\}$/;

/** The parser of one configured bid URI. */
export class BidUri {
  readonly path: string;
  private readonly userParam: string;
  private readonly regionParam: string | undefined;

  constructor(template: string) {
    const q = template.indexOf('?');
    this.path = q < 0 ? template : template.slice(0, q);
    const params = new Map<BidMacro, string>();
    for (const pair of (q < 0 ? '' : template.slice(q + 1)).split('&')) {
      const eq = pair.indexOf('=');
      const macro = MACRO_VALUE.exec(eq < 0 ? '' : pair.slice(eq + 1))?.[1];
      if (macro === undefined) continue;
      if (!(BID_MACROS as readonly string[]).includes(macro)) {
        throw new Error(`bid URI ${template}: unknown macro \${${macro}}; known: ${BID_MACROS.map((m) => `\${${m}}`).join(', ')}`);
      }
      params.set(macro as BidMacro, pair.slice(0, eq));
    }
    const user = params.get('USER_ID');
    if (user === undefined) throw new Error(`bid URI ${template}: no query parameter carries \${USER_ID}, like /segments?uid=\${USER_ID}`);
    this.userParam = user;
    this.regionParam = params.get('REGION');
  }

  /** The request's user id and region, or why there are none. */
  parse(target: string): BidRequest | BidProblem {
    const q = target.indexOf('?');
    const pathEnd = q < 0 ? target.length : q;
    if (pathEnd !== this.path.length || !target.startsWith(this.path)) return 'not-bid-path';
    let userId: string | undefined;
    let region = '';
    let at = q + 1;
    while (q >= 0 && at <= target.length) {
      let end = target.indexOf('&', at);
      if (end < 0) end = target.length;
      const eq = target.indexOf('=', at);
      if (eq > at && eq < end) {
        const name = target.slice(at, eq);
        // The first occurrence counts, as for sync requests.
        if (name === this.userParam && userId === undefined) {
          const v = decode(target.slice(eq + 1, end));
          if (v === undefined) return 'bad-encoding';
          userId = v;
        } else if (name === this.regionParam && region === '') {
          const v = decode(target.slice(eq + 1, end));
          if (v === undefined) return 'bad-encoding';
          region = v;
        }
      }
      at = end + 1;
    }
    // An unfilled macro (the bus did not know the value) counts as absent.
    if (region.startsWith('${')) region = '';
    if (userId === undefined || userId === '' || userId.startsWith('${')) return 'no-user-id';
    if (userId.length > MAX_USER_ID_LENGTH) return 'bad-user-id';
    for (let i = 0; i < userId.length; i++) {
      const c = userId.charCodeAt(i);
      if (c <= 0x20 || c === 0x7f) return 'bad-user-id';
    }
    return { userId, region };
  }
}

function decode(value: string): string | undefined {
  if (!value.includes('%')) return value;
  try {
    return decodeURIComponent(value);
  } catch {
    return undefined;
  }
}
