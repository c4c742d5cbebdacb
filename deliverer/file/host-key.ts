/**
 * Host key pinning: the server's key must hash to the fingerprint in the config, compared in OpenSSH's own form
 * (`SHA256:` + unpadded base64 of the key blob's sha256, as `ssh-keygen -lf` prints it).
 */
import { createHash } from 'node:crypto';

/** The OpenSSH SHA256 fingerprint of a raw host key blob. */
export function hostKeyFingerprint(keyBlob: Buffer): string {
  return `SHA256:${createHash('sha256').update(keyBlob).digest('base64').replace(/=+$/, '')}`;
}

/** Compares fingerprints ignoring base64 padding, which some tools print and OpenSSH does not. */
export function sameFingerprint(a: string, b: string): boolean {
  return a.replace(/=+$/, '') === b.replace(/=+$/, '');
}
