/**
 * Identifiers and fake personal data for synthetic inputs, all derived by hashing (seed, index, ...) so that
 * nothing has to be remembered between lines, files or days: the same cookie index always has the same cookie
 * id, browser and (per partner, per rotation period) the same partner user id.
 */

/** murmur3's 32-bit finaliser: a bijection on uint32 with good avalanche. */
export function mix32(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  x ^= x >>> 16;
  return x >>> 0;
}

/** A 32-bit key from a seed and a few small integers (order matters). */
export function hashKey(seed: number, ...parts: number[]): number {
  let h = mix32((seed ^ 0x9e3779b9) >>> 0);
  for (const p of parts) h = mix32((h ^ mix32((p + 0x7f4a7c15) >>> 0)) + 0x165667b1);
  return h;
}

const scratch = Buffer.alloc(16);

/**
 * Our cookie id of cookie `index`: 16 bytes as 22 base64url characters, like the webapp's. The first word is
 * a bijection of the index, so distinct indices (below 2^32) never collide.
 */
export function cookieIdOf(key: number, index: number): string {
  const w0 = mix32((key ^ index) >>> 0);
  const w1 = mix32((w0 + 0x2545f491) >>> 0);
  const w2 = mix32((w1 ^ key) >>> 0);
  const w3 = mix32((w2 + index + 0x68e31da4) >>> 0);
  scratch.writeUInt32BE(w0, 0);
  scratch.writeUInt32BE(w1, 4);
  scratch.writeUInt32BE(w2, 8);
  scratch.writeUInt32BE(w3, 12);
  return scratch.toString('base64url');
}

/** The styles of partner user ids we imitate; each partner uses one. */
export const PARTNER_UID_STYLES = ['uuid', 'hex16', 'numeric19', 'google', 'base62', 'base64', 'uuid-upper', 'numeric12'] as const;
export type PartnerUidStyle = (typeof PARTNER_UID_STYLES)[number];

/** The uid style of a partner: fixed by its id (17 → hex16, 42 → numeric19). */
export function partnerUidStyle(partnerId: number): PartnerUidStyle {
  return PARTNER_UID_STYLES[partnerId % PARTNER_UID_STYLES.length]!;
}

const HEX = '0123456789abcdef';
const BASE62 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

function hex32(w: number): string {
  let s = '';
  for (let i = 28; i >= 0; i -= 4) s += HEX[(w >>> i) & 15];
  return s;
}

/** Words of a hash chain started at `h`. */
function words(h: number, n: number): number[] {
  const out: number[] = new Array(n);
  for (let i = 0; i < n; i++) out[i] = h = mix32((h + 0x6d2b79f5) >>> 0);
  return out;
}

/** A partner user id in `style`, from a 32-bit key. Unencoded (base64 style holds `+`, `/`, `=`). */
export function partnerUserIdOf(style: PartnerUidStyle, key: number): string {
  const w = words(key, 4);
  switch (style) {
    case 'uuid':
    case 'uuid-upper': {
      const h = hex32(w[0]!) + hex32(w[1]!) + hex32(w[2]!) + hex32(w[3]!);
      const variant = HEX[8 + (w[2]! & 3)];
      const s = `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
      return style === 'uuid' ? s : s.toUpperCase();
    }
    case 'hex16':
      return (hex32(w[0]!) + hex32(w[1]!)).toUpperCase();
    case 'numeric19':
      return `${1 + (w[0]! % 9)}${String(w[1]! % 1_000_000_000).padStart(9, '0')}${String(w[2]! % 1_000_000_000).padStart(9, '0')}`;
    case 'numeric12':
      return `${1 + (w[0]! % 9)}${String(w[1]! % 100_000_000_000).padStart(11, '0')}`;
    case 'google': {
      const b = Buffer.alloc(16);
      for (let i = 0; i < 4; i++) b.writeUInt32BE(w[i]!, 4 * i);
      return `CAESE${b.toString('base64url')}`;
    }
    case 'base64': {
      const b = Buffer.alloc(16);
      for (let i = 0; i < 4; i++) b.writeUInt32BE(w[i]!, 4 * i);
      return b.toString('base64');
    }
    case 'base62': {
      let s = '';
      for (let i = 0; i < 24; i++) s += BASE62[mix32((w[i & 3]! + i * 0x9e3779b9) >>> 0) % 62];
      return s;
    }
  }
}

/**
 * The partner ids to generate syncs for: the configured ones first; when `count` is larger, further ids follow
 * the largest configured id (43, 44, ... after 17 and 42); when smaller, the first `count` configured ids.
 * With no configured partners the ids are 1..count.
 */
export function resolvePartnerIds(configured: readonly number[], count: number): number[] {
  const ids = [...new Set(configured)];
  if (count <= ids.length) return ids.slice(0, count);
  let next = ids.length ? Math.max(...ids) + 1 : 1;
  while (ids.length < count) ids.push(next++);
  return ids;
}

/** The webapp servers whose logs we imitate: `web-01` ... */
export function webappHosts(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `web-${String(i + 1).padStart(2, '0')}`);
}

// ---- fake PII (reserved example domains, invented streets) ----

const FIRST = ['anna', 'ben', 'carla', 'david', 'elena', 'felix', 'greta', 'hugo', 'ines', 'jonas', 'karla', 'leo', 'maria', 'nils', 'olga', 'paul', 'quinn', 'rosa', 'sven', 'tina', 'uwe', 'vera', 'wim', 'yara', 'zoe'];
const LAST = ['meyer', 'schmidt', 'garcia', 'rossi', 'dubois', 'jansen', 'novak', 'silva', 'smith', 'kowalski', 'berg', 'larsen', 'moreau', 'costa', 'weber', 'fischer', 'lopez', 'bianchi', 'nielsen', 'horvat'];
const DOMAINS = ['example.com', 'example.net', 'example.org', 'mail.example', 'post.example'];
const STREETS = ['Elm', 'Maple', 'Harbour', 'Mill', 'Station', 'Church', 'Park', 'Linden', 'Orchard', 'Canal', 'Bridge', 'Market'];
const SUFFIXES = ['Street', 'Road', 'Lane', 'Avenue', 'Way', 'Close'];
const CITIES = ['Springfield', 'Riverton', 'Lakeside', 'Fairview', 'Oakdale', 'Brookfield', 'Greenville', 'Ashford'];

/** A made-up email address on a reserved example domain. */
export function fakeEmail(key: number): string {
  const [a, b, c, d] = words(key, 4) as [number, number, number, number];
  const sep = c % 3 === 0 ? '_' : '.';
  return `${FIRST[a % FIRST.length]}${sep}${LAST[b % LAST.length]}${c % 4 === 0 ? '' : c % 100}@${DOMAINS[d % DOMAINS.length]}`;
}

/** A made-up postal address (invented streets, cities and postcodes). */
export function fakePostalAddress(key: number): string {
  const [a, b, c, d] = words(key, 4) as [number, number, number, number];
  return `${1 + (a % 240)} ${STREETS[b % STREETS.length]} ${SUFFIXES[c % SUFFIXES.length]}, ${String(10000 + (d % 89999))} ${CITIES[(d >>> 17) % CITIES.length]}`;
}
