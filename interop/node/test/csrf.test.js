// The CSRF token and the origin rule: the cases of src/csrf/{token,origin,form}.rs.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';

import { csrf } from '../index.js';

const { MASKED_LEN, decodeSecret, findField, formKind, judge, mask, matches, newSecret } = csrf;

test('a masked token verifies and every change breaks it', () => {
  const secret = randomBytes(32);
  const token = mask(secret);
  assert.equal(token.length, MASKED_LEN);
  assert.ok(matches(secret, token));
  assert.ok(!matches(randomBytes(32), token));
  for (let i = 0; i < MASKED_LEN; i++) {
    const changed = token.slice(0, i) + (token[i] === 'A' ? 'B' : 'A') + token.slice(i + 1);
    assert.ok(!matches(secret, changed), `position ${i}`);
  }
  assert.ok(!matches(secret, token.slice(1)));
  assert.ok(!matches(secret, `${token}A`));
  assert.ok(!matches(secret, ''));
  assert.ok(!matches(secret, secret.toString('base64url')), 'the unmasked secret is no token');
  if (token.includes('-')) assert.ok(!matches(secret, token.replaceAll('-', '+')), 'one spelling only');
});

test('two masks of one secret differ and both verify', () => {
  const secret = randomBytes(32);
  const a = mask(secret);
  const b = mask(secret);
  assert.notEqual(a, b);
  assert.ok(matches(secret, a) && matches(secret, b));
});

test('the token is base64url(pad || secret XOR pad), as the Rust crate renders it', () => {
  // A token made by hand from the spec, with the pad all 0x5a.
  const secret = Buffer.from([...Array(32).keys()]);
  const pad = Buffer.alloc(32, 0x5a);
  const token = Buffer.concat([pad, Buffer.from(secret.map((b, i) => b ^ pad[i]))]).toString('base64url');
  assert.ok(matches(decodeSecret(secret.toString('base64url')), token));
});

test('stored secrets of the wrong length or encoding are no secret', () => {
  assert.equal(decodeSecret(Buffer.alloc(31, 7).toString('base64url')), null);
  assert.equal(decodeSecret(Buffer.alloc(33, 7).toString('base64url')), null);
  assert.equal(decodeSecret('not base64!'), null);
  assert.equal(decodeSecret(`${Buffer.alloc(32, 7).toString('base64url')}=`), null);
  assert.deepStrictEqual(decodeSecret(Buffer.alloc(32, 7).toString('base64url')), Buffer.alloc(32, 7));
  assert.equal(newSecret().length, 43);
});

test('provenance table', () => {
  const trusted = ['https://admin.example.com'];
  const rows = [
    [{ 'sec-fetch-site': 'same-origin' }, 'same_origin'],
    [{ 'sec-fetch-site': 'same-origin', origin: 'http://proxy-rewrote-host', host: 'app' }, 'same_origin'],
    [{ 'sec-fetch-site': 'none' }, 'unknown'],
    [{ 'sec-fetch-site': 'same-site', origin: 'http://127.0.0.1:9' }, 'cross_site'],
    [{ 'sec-fetch-site': 'cross-site', origin: 'https://evil.example' }, 'cross_site'],
    [{ 'sec-fetch-site': 'cross-site' }, 'cross_site'],
    [{ 'sec-fetch-site': 'something-new' }, 'cross_site'],
    [{ 'sec-fetch-site': 'same-site', origin: 'https://admin.example.com' }, 'unknown'],
    [{ 'sec-fetch-site': 'cross-site', origin: 'https://ADMIN.example.com' }, 'unknown'],
    [{}, 'unknown'],
    [{ host: 'localhost:3000' }, 'unknown'],
    [{ origin: 'http://localhost:3000', host: 'localhost:3000' }, 'same_origin'],
    [{ origin: 'http://LOCALHOST:3000', host: 'localhost:3000' }, 'same_origin'],
    [{ origin: 'https://app.example', host: 'app.example' }, 'same_origin'],
    [{ origin: 'https://app.example', host: 'app.example:443' }, 'same_origin'],
    [{ origin: 'http://app.example', host: 'app.example:80' }, 'same_origin'],
    [{ origin: 'http://app.example', host: 'app.example:443' }, 'foreign_origin'],
    [{ origin: 'http://localhost:3001', host: 'localhost:3000' }, 'foreign_origin'],
    [{ origin: 'http://localhost', host: 'localhost:3000' }, 'foreign_origin'],
    [{ origin: 'http://evil.example', host: 'app.example' }, 'foreign_origin'],
    [{ origin: 'http://app.example.evil', host: 'app.example' }, 'foreign_origin'],
    [{ origin: 'null', host: 'app.example' }, 'foreign_origin'],
    [{ origin: 'ftp://app.example', host: 'app.example' }, 'foreign_origin'],
    [{ origin: 'http://app.example', host: 'internal:8080', 'x-forwarded-host': 'app.example' }, 'same_origin'],
    [{ origin: 'http://app.example', host: 'internal:8080', 'x-forwarded-host': 'app.example, other' }, 'same_origin'],
    [{ origin: 'http://app.example', host: 'internal:8080', 'x-forwarded-host': 'other, app.example' }, 'foreign_origin'],
    [{ origin: 'http://app.example' }, 'foreign_origin'],
    [{ origin: 'http://', host: '' }, 'foreign_origin'],
    [{ origin: 'https://admin.example.com', host: 'app.example.com' }, 'unknown'],
  ];
  for (const [headers, expected] of rows) assert.equal(judge(headers, trusted), expected, JSON.stringify(headers));
});

test('the token in urlencoded and multipart forms', () => {
  assert.equal(formKind('Application/X-WWW-Form-Urlencoded; charset=UTF-8'), 'urlencoded');
  assert.deepStrictEqual(formKind('multipart/form-data; boundary="xyz"'), { multipart: 'xyz' });
  assert.equal(formKind('application/json'), null);
  assert.equal(formKind('multipart/form-data'), null);
  const body = Buffer.from('a=1&csrf%5Ftoken=ab%2Bc+d&csrf_token=second');
  assert.equal(findField('urlencoded', body, 'csrf_token'), 'ab+c d');
  assert.equal(findField('urlencoded', Buffer.from('x=1'), 'csrf_token'), null);
  const mp = Buffer.from(
    '--xyz\r\nContent-Disposition: form-data; name="item"\r\n\r\napple\r\n' +
      '--xyz\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\nTOKEN\r\n--xyz--\r\n',
  );
  assert.equal(findField({ multipart: 'xyz' }, mp, 'csrf_token'), 'TOKEN');
  assert.equal(findField({ multipart: 'xyz' }, mp, 'nothing'), null);
});
