// client-session for Node.js: the wire format, key ring, chunking and CSRF
// token of the Rust crate `client-session`, so Node and Rust services share
// sessions. The Express middleware is `client-session/express`.

export {
  ConfigError,
  Key,
  KeyProblem,
  KeySource,
  Keyring,
  LiveKeyring,
  KEYS_FILE_VAR,
  KEYS_VAR,
  MAX_KEY_LEN,
  MIN_KEY_LEN,
  generateKeyBase64,
  loadKeyring,
} from './src/keys.js';
export {
  DEFAULTS,
  Lifetime,
  OPENS,
  Reject,
  SealError,
  SessionCodec,
  VERSION,
  generateSessionId,
  resolveLifetime,
} from './src/format.js';
export { SessionData, ValueError } from './src/data.js';
export * as chunk from './src/chunk.js';
export * as csrf from './src/csrf.js';
