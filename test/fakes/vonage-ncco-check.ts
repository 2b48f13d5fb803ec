// The fake Vonage's validation of a `POST /v1/calls` body: the fields and NCCO actions the
// gateway uses, checked the way Vonage documents them (protocol-facts §6). Returns Vonage's
// `invalid_parameters` list; empty means valid.

export interface InvalidParameter {
  name: string;
  reason: string;
}

const isObject = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);
const isUrlList = (v: unknown) => Array.isArray(v) && v.length > 0 && v.every((u) => typeof u === 'string' && /^https?:\/\//.test(u));

function checkPhone(v: unknown, name: string, number: RegExp, out: InvalidParameter[]) {
  if (!isObject(v) || v.type !== 'phone' || typeof v.number !== 'string' || !number.test(v.number)) {
    out.push({ name, reason: 'must be {type:"phone", number} with the number in E.164 digits (no +)' });
  }
}

function checkEndpoint(e: unknown, name: string, number: RegExp, out: InvalidParameter[]) {
  if (isObject(e) && e.type === 'websocket') {
    if (typeof e.uri !== 'string' || !/^wss?:\/\//.test(e.uri)) out.push({ name: `${name}.uri`, reason: 'must be a ws(s) URI' });
    if (!/^audio\/l16;rate=(8000|16000)$/.test(String(e['content-type']))) out.push({ name: `${name}.content-type`, reason: 'must be audio/l16;rate=8000|16000' });
    if (e.headers !== undefined && !isObject(e.headers)) out.push({ name: `${name}.headers`, reason: 'must be an object' });
    return;
  }
  checkPhone(e, name, number, out);
}

function checkAction(a: unknown, i: number, number: RegExp, out: InvalidParameter[]) {
  const name = `ncco[${i}]`;
  if (!isObject(a) || typeof a.action !== 'string') return void out.push({ name, reason: 'must be an action object' });
  if (a.action === 'record') {
    if (a.split !== undefined && a.split !== 'conversation') out.push({ name: `${name}.split`, reason: 'must be conversation' });
    if (a.format !== undefined && !['mp3', 'wav', 'ogg'].includes(String(a.format))) out.push({ name: `${name}.format`, reason: 'must be mp3, wav or ogg' });
    if (a.eventUrl !== undefined && !isUrlList(a.eventUrl)) out.push({ name: `${name}.eventUrl`, reason: 'must be an array of URLs' });
    if (a.eventMethod !== undefined && !['GET', 'POST'].includes(String(a.eventMethod))) out.push({ name: `${name}.eventMethod`, reason: 'must be GET or POST' });
  } else if (a.action === 'connect') {
    if (!Array.isArray(a.endpoint) || a.endpoint.length !== 1) return void out.push({ name: `${name}.endpoint`, reason: 'must hold one endpoint' });
    checkEndpoint(a.endpoint[0], `${name}.endpoint[0]`, number, out);
    if (a.from !== undefined && !(typeof a.from === 'string' && number.test(a.from))) out.push({ name: `${name}.from`, reason: 'must be E.164 digits' });
  } else if (!['talk', 'stream', 'input', 'notify', 'conversation'].includes(a.action)) {
    out.push({ name: `${name}.action`, reason: `unknown action ${a.action}` });
  }
}

export function checkCallBody(body: Record<string, unknown>, number: RegExp): InvalidParameter[] {
  const out: InvalidParameter[] = [];
  if (!Array.isArray(body.to) || body.to.length !== 1) out.push({ name: 'to', reason: 'must hold one endpoint' });
  else checkPhone(body.to[0], 'to[0]', number, out);
  checkPhone(body.from, 'from', number, out);
  if ((body.ncco === undefined) === (body.answer_url === undefined)) out.push({ name: 'ncco', reason: 'give exactly one of ncco or answer_url' });
  if (body.ncco !== undefined) {
    if (!Array.isArray(body.ncco) || body.ncco.length === 0) out.push({ name: 'ncco', reason: 'must be a non-empty array' });
    else body.ncco.forEach((a, i) => checkAction(a, i, number, out));
  }
  if (body.event_url !== undefined && !isUrlList(body.event_url)) out.push({ name: 'event_url', reason: 'must be an array of URLs' });
  if (body.event_method !== undefined && !['GET', 'POST'].includes(String(body.event_method))) out.push({ name: 'event_method', reason: 'must be GET or POST' });
  return out;
}
