// An instant written by an operator (src/rfc3339.rs): Unix seconds, or an
// RFC 3339 date-time with a zone (fraction dropped). Null when neither.

function num(part) {
  return /^[0-9]+$/.test(part) ? Number(part) : null;
}

function daysFromCivil(year, month, day) {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const mp = (month + 9) % 12;
  const doy = Math.floor((153 * mp + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

export function parseInstant(input) {
  const text = input.replace(/^\p{White_Space}+|\p{White_Space}+$/gu, '');
  if (text.length > 0 && /^[0-9]+$/.test(text)) {
    const n = BigInt(text);
    return n <= 0xffffffffffffffffn ? Number(n) : null;
  }
  const b = text;
  if (b.length < 20 || b[4] !== '-' || b[7] !== '-' || !'Tt '.includes(b[10]) || b[13] !== ':' || b[16] !== ':') {
    return null;
  }
  const f = (s, e) => num(b.slice(s, e));
  const [year, month, day, hour, minute, second] = [f(0, 4), f(5, 7), f(8, 10), f(11, 13), f(14, 16), f(17, 19)];
  if ([year, month, day, hour, minute, second].some((v) => v === null)) return null;
  let rest = b.slice(19);
  if (rest.startsWith('.')) {
    const digits = /^[0-9]*/.exec(rest.slice(1))[0].length;
    if (digits === 0) return null;
    rest = rest.slice(1 + digits);
  }
  let offset;
  if (rest === 'Z' || rest === 'z') offset = 0;
  else {
    if (rest.length !== 6 || !'+-'.includes(rest[0]) || rest[3] !== ':') return null;
    const h = num(rest.slice(1, 3));
    const m = num(rest.slice(4, 6));
    if (h === null || m === null || h > 23 || m > 59) return null;
    offset = (rest[0] === '+' ? 1 : -1) * (h * 3600 + m * 60);
  }
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  const dim = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1];
  if (dim === undefined || day === 0 || day > dim || hour > 23 || minute > 59 || second > 60) return null;
  const seconds = daysFromCivil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second - offset;
  return seconds >= 0 ? seconds : null;
}
