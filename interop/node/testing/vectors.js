// Reading the repository's test vectors (tests/vectors/*.json) at test time.

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { Key, Keyring } from '../index.js';
import { parseJsonExact } from './json-exact.js';

export const VECTORS_DIR = fileURLToPath(new URL('../../../tests/vectors/', import.meta.url));

export function loadVectors(file) {
  return parseJsonExact(readFileSync(VECTORS_DIR + file, 'utf8'));
}

/** A key from standard base64 (the vectors' keys are not plausibility-checked: Key.fromBytes). */
export const keyOf = (b64) => Key.fromBytes(Buffer.from(b64, 'base64'));
export const ringOf = (keys) => new Keyring(keys.map(keyOf));

/** A `Cookie` header of a vector's cookies, as the bytes a client sends. */
export function cookieHeader(cookies) {
  return Buffer.from(
    Object.entries(cookies)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([n, v]) => `${n}=${v}`)
      .join('; '),
    'utf8',
  );
}
