// The request-head reader on its own: what it takes from a head, where it stops, and what it refuses.
import { describe, expect, it } from 'vitest';
import { parseRequestHead, RequestHead } from '../../listener/bus-http-head.ts';

function parse(text: string, maxBytes = 2048, start = 0) {
  const bytes = Buffer.from(text, 'latin1');
  const head = new RequestHead();
  const result = parseRequestHead(bytes, start, bytes.length, maxBytes, head);
  return { result, head, target: bytes.toString('latin1', head.targetStart, head.targetEnd) };
}

describe('parseRequestHead', () => {
  const complete: [string, string, Partial<RequestHead & { target: string }>][] = [
    ['a bus request', 'GET /segments?uid=1&region=nym HTTP/1.1\r\nHost: bus\r\n\r\n', { method: 'GET', minor: 1, target: '/segments?uid=1&region=nym', body: false, close: false, keepAlive: false }],
    ['no headers at all', 'GET /ready HTTP/1.1\r\n\r\n', { method: 'GET', target: '/ready' }],
    ['HEAD', 'HEAD /ready HTTP/1.1\r\n\r\n', { method: 'HEAD' }],
    ['another method, parsed', 'POST /ready HTTP/1.1\r\n\r\n', { method: 'other' }],
    ['a lower-case get is another method', 'get /ready HTTP/1.1\r\n\r\n', { method: 'other' }],
    ['HTTP/1.0', 'GET /ready HTTP/1.0\r\n\r\n', { minor: 0, keepAlive: false }],
    ['HTTP/1.0 keep-alive', 'GET /ready HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n', { minor: 0, keepAlive: true }],
    ['Connection: close, any case and spacing', 'GET /ready HTTP/1.1\r\ncOnNeCtIoN:   upgrade ,  CLOSE \t\r\n\r\n', { close: true, keepAlive: false }],
    ['a token that only starts like close', 'GET /ready HTTP/1.1\r\nConnection: closed, keep-alives\r\n\r\n', { close: false, keepAlive: false }],
    ['Content-Length: 0 is no body', 'GET /ready HTTP/1.1\r\nContent-Length: 00\r\n\r\n', { body: false }],
    ['Content-Length above 0', 'GET /ready HTTP/1.1\r\ncontent-length: 5\r\n\r\nhello', { body: true }],
    ['any Transfer-Encoding', 'GET /ready HTTP/1.1\r\nTransfer-Encoding: identity\r\n\r\n', { body: true }],
    ['headers of the same length as the ones that matter', 'GET /ready HTTP/1.1\r\nConnectiox: close\r\nContent-Lengtx: 9\r\nTransfer-Encodinx: chunked\r\n\r\n', { body: false, close: false }],
    ['an empty value and tabs', 'GET /ready HTTP/1.1\r\nX-Empty:\r\nX-Tab:\tv\t\r\n\r\n', { target: '/ready' }],
    ['bytes over 0x7f in the target and values', 'GET /s?uid=\xe9 HTTP/1.1\r\nX-Name: caf\xe9\r\n\r\n', { target: '/s?uid=\xe9' }],
  ];
  it.each(complete)('reads %s', (_, text, expected) => {
    const { result, head, target } = parse(text);
    expect(result).toBe('complete');
    expect({ ...head, target }).toMatchObject(expected);
    expect(head.end).toBe(text.indexOf('\r\n\r\n') + 4);
  });

  it('reads a head that starts inside the buffer, after an earlier one', () => {
    const first = 'GET /a HTTP/1.1\r\n\r\n';
    const { result, head, target } = parse(`${first}HEAD /b HTTP/1.0\r\n\r\nGET /c`, 2048, first.length);
    expect([result, head.method, target, head.end]).toEqual(['complete', 'HEAD', '/b', first.length + 20]);
  });

  it('says incomplete at every split of a head, then complete', () => {
    const text = 'GET /segments?uid=1 HTTP/1.1\r\nHost: bus\r\nConnection: close\r\n\r\n';
    for (let n = 0; n < text.length; n++) expect(parse(text.slice(0, n)).result, `first ${n} bytes`).toBe('incomplete');
    expect(parse(text).result).toBe('complete');
  });

  const refused: [string, string, string][] = [
    ['garbage bytes', '\x16\x03\x01\x00\xa5\x01\r\n\r\n', 'HPE_INVALID_METHOD'],
    ['no method', ' /ready HTTP/1.1\r\n\r\n', 'HPE_INVALID_METHOD'],
    ['a request line of two words', 'HELLO WORLD\r\n\r\n', 'HPE_INVALID_URL'],
    ['a target that is not a path', 'GET http://bus/ready HTTP/1.1\r\n\r\n', 'HPE_INVALID_URL'],
    ['a control byte in the target', 'GET /re\x01ady HTTP/1.1\r\n\r\n', 'HPE_INVALID_URL'],
    ['two spaces', 'GET  /ready HTTP/1.1\r\n\r\n', 'HPE_INVALID_URL'],
    ['HTTP/2', 'GET /ready HTTP/2.0\r\n\r\n', 'HPE_INVALID_VERSION'],
    ['HTTP/1.2', 'GET /ready HTTP/1.2\r\n\r\n', 'HPE_INVALID_VERSION'],
    ['a bare LF after the request line', 'GET /ready HTTP/1.1\nHost: bus\n\n', 'HPE_INVALID_VERSION'],
    ['a wrong version, before it is whole', 'GET /ready HTTX', 'HPE_INVALID_VERSION'],
    ['a header without a colon', 'GET /ready HTTP/1.1\r\nHost bus\r\n\r\n', 'HPE_INVALID_HEADER_TOKEN'],
    ['a space before the colon', 'GET /ready HTTP/1.1\r\nHost : bus\r\n\r\n', 'HPE_INVALID_HEADER_TOKEN'],
    ['a folded header', 'GET /ready HTTP/1.1\r\nX-A: 1\r\n  2\r\n\r\n', 'HPE_INVALID_HEADER_TOKEN'],
    ['a bare LF in a header', 'GET /ready HTTP/1.1\r\nHost: bus\nX: 1\r\n\r\n', 'HPE_INVALID_HEADER_TOKEN'],
    ['a control byte in a value', 'GET /ready HTTP/1.1\r\nHost: b\x00us\r\n\r\n', 'HPE_INVALID_HEADER_TOKEN'],
    ['CR not followed by LF at the end', 'GET /ready HTTP/1.1\r\nHost: bus\r\n\rX', 'HPE_INVALID_HEADER_TOKEN'],
    ['a non-numeric Content-Length', 'GET /ready HTTP/1.1\r\nContent-Length: 5, 5\r\n\r\n', 'HPE_INVALID_CONTENT_LENGTH'],
    ['an empty Content-Length', 'GET /ready HTTP/1.1\r\nContent-Length: \r\n\r\n', 'HPE_INVALID_CONTENT_LENGTH'],
  ];
  it.each(refused)('refuses %s', (_, text, problem) => {
    expect(parse(text).result).toBe(problem);
  });

  it('refuses a head over maxBytes, complete or not, and takes one of exactly maxBytes', () => {
    const text = `GET /ready HTTP/1.1\r\nX-Pad: ${'p'.repeat(40)}\r\n\r\n`;
    expect(parse(text, text.length).result).toBe('complete');
    expect(parse(text, text.length - 1).result).toBe('HPE_HEADER_OVERFLOW');
    expect(parse(text.slice(0, 30), 30).result).toBe('HPE_HEADER_OVERFLOW');
    expect(parse(text.slice(0, 29), 30).result).toBe('incomplete');
  });
});
