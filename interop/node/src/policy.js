// What a response carries back to the browser (src/policy.rs): one pure
// function of what the request brought, what the handler did, the status,
// the session's lifetimes and the time.
//
// * untouched: nothing, whatever the cookie;
// * 5xx: nothing saved or renewed, except that a destroyed session's cookie
//   (and every chunk) is still expired;
// * a session holding no value: expire the cookie when the handler changed
//   it (emptied, destroyed) and the request carried one; else nothing;
// * otherwise seal when changed, opened with an old key, sealed as v1, a
//   revocation check passed, or less than the renewal fraction of the idle
//   window remains; a re-seal keeps id, creation, login and check times;
// * a seal over the size caps answers 500 only for the handler's change.

import { VERSION } from './format.js';

export const Why = Object.freeze({
  CHANGED: 'changed',
  OLD_KEY: 'old_key',
  OLD_FORMAT: 'old_format',
  CHECKED: 'checked',
  RENEWAL: 'renewal',
});

/** Only a change the handler made answers 500 when it cannot be written. */
export const answers500WhenUnsealable = (why) => why === Why.CHANGED;

/**
 * brought: {cookie, opened: {createdAt, expiresAt, keyIndex, version} | null}
 * did: {touched, changed, destroyed, empty, checked}
 * lifetimes: {idle, absolute (or null), renewFraction, ephemeral}
 * Returns {kind: 'nothing'} | {kind: 'expire'} |
 *         {kind: 'seal', why, createdAt, expiresAt, maxAge (or null)}.
 */
export function plan(brought, did, status, lifetimes, now) {
  if (!did.touched) return { kind: 'nothing' };
  if (status >= 500 && status <= 599) {
    return did.destroyed && brought.cookie ? { kind: 'expire' } : { kind: 'nothing' };
  }
  if (did.empty) return brought.cookie && did.changed ? { kind: 'expire' } : { kind: 'nothing' };
  const opened = did.destroyed ? null : brought.opened;
  let why;
  if (did.changed) why = Why.CHANGED;
  else if (opened && opened.keyIndex !== 0) why = Why.OLD_KEY;
  else if (opened && opened.version !== VERSION) why = Why.OLD_FORMAT;
  else if (did.checked && opened) why = Why.CHECKED;
  else if (opened && Math.max(opened.expiresAt - now, 0) < lifetimes.idle * lifetimes.renewFraction) why = Why.RENEWAL;
  else return { kind: 'nothing' };
  const createdAt = opened ? opened.createdAt : now;
  const expiresAt = now + lifetimes.idle;
  let maxAge = null;
  if (!lifetimes.ephemeral) {
    const end = lifetimes.absolute == null ? expiresAt : Math.min(expiresAt, createdAt + lifetimes.absolute);
    maxAge = Math.max(end - now, 0);
  }
  return { kind: 'seal', why, createdAt, expiresAt, maxAge };
}
