/**
 * How the fake camera checks a client, as cameras do: WS-Security UsernameToken in the SOAP header (PasswordDigest =
 * base64 SHA-1 of nonce + created + password, `Created` within 5 s of the camera's own clock) and HTTP Digest
 * (RFC 2617, MD5, with or without qop) against nonces it issued.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { tag } from './soap.js';

const md5 = (s: string): string => createHash('md5').update(s).digest('hex');

export function wsSecurityOk(body: string, username: string, password: string, cameraNow: number): boolean {
  const user = tag(body, 'Username');
  const digest = tag(body, 'Password');
  const nonce = tag(body, 'Nonce');
  const created = tag(body, 'Created');
  return (
    user === username &&
    digest !== null &&
    nonce !== null &&
    created !== null &&
    Math.abs(Date.parse(created) - cameraNow) <= 5_000 &&
    createHash('sha1')
      .update(Buffer.concat([Buffer.from(nonce, 'base64'), Buffer.from(created), Buffer.from(password)]))
      .digest('base64') === digest
  );
}

/** A 401 with a fresh nonce (remembered in `nonces`) for Digest, or a Basic realm. */
export function challenge(res: ServerResponse, scheme: 'Digest' | 'Basic', nonces: Set<string>): void {
  const nonce = randomBytes(8).toString('hex');
  nonces.add(nonce);
  res.writeHead(401, {
    'www-authenticate': scheme === 'Digest' ? `Digest realm="fake-onvif", qop="auth", nonce="${nonce}", algorithm=MD5` : 'Basic realm="fake-onvif"',
    'content-type': 'text/html',
  });
  res.end('<html><body>401 Unauthorized</body></html>');
}

export function digestOk(req: IncomingMessage, username: string, password: string, nonces: Set<string>): boolean {
  const h = req.headers.authorization ?? '';
  if (!h.startsWith('Digest ')) return false;
  const p: Record<string, string> = {};
  for (const m of h.slice(7).matchAll(/(\w+)=(?:"([^"]*)"|([^,\s]*))/g)) p[m[1]!] = m[2] ?? m[3] ?? '';
  if (p.username !== username || !p.nonce || !nonces.has(p.nonce)) return false;
  const ha1 = md5(`${p.username}:${p.realm}:${password}`);
  const ha2 = md5(`${req.method}:${p.uri}`);
  const expected = p.qop ? md5(`${ha1}:${p.nonce}:${p.nc}:${p.cnonce}:${p.qop}:${ha2}`) : md5(`${ha1}:${p.nonce}:${ha2}`);
  return expected === p.response;
}
