// The streaming JSON scanner and base64 decoder that read post_call_audio bodies: they must agree
// with JSON.parse and Buffer's base64 at every possible chunk boundary, escapes included.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Base64Error, Base64Stream } from '../../src/providers/elevenlabs-audio.js';
import { JsonScanner, JsonSyntaxError } from '../../src/providers/elevenlabs-json.js';

function scan(text: string, chunk: number, collect: string[], streamPath = 'data.full_audio') {
  const streamed: Buffer[] = [];
  const s = new JsonScanner({ collect, stream: { path: streamPath, onChunk: (b) => streamed.push(Buffer.from(b)) } });
  const bytes = Buffer.from(text);
  for (let i = 0; i < bytes.length; i += chunk) s.push(bytes.subarray(i, i + chunk));
  s.end();
  return { values: s.values, streamed: Buffer.concat(streamed).toString('utf8') };
}

const DOC = {
  type: 'post_call_audio',
  event_timestamp: 1739537297,
  ignored: { nested: [1, -2.5e3, true, false, null, { full_audio: 'not this one' }, [], {}], 'we"ird\\key': 'x' },
  data: {
    agent_id: 'agent_\u00e9\u{1F600}',
    conversation_id: 'conv_01jx',
    full_audio: 'SUQzBAAAAAAAI1RTU0UAAAAPAAADTGF2ZjU4Ljc2LjEwMAAAAAAAAAAAAAAA//Pk+/9/+/+==',
  },
  after: 'tail "quoted" \\ back\n',
};

test('values, paths and the streamed string agree with JSON.parse at every chunk size', () => {
  const compact = JSON.stringify(DOC);
  // the same document with `/` escaped, pretty-printed, and with \u escapes for non-ASCII
  const escaped = JSON.stringify(DOC, null, 2).replace(/\//g, '\\/').replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  assert.deepEqual(JSON.parse(escaped), DOC);
  for (const text of [compact, escaped]) {
    for (const chunk of [1, 2, 3, 5, 16, 1000]) {
      const r = scan(text, chunk, ['type', 'event_timestamp', 'data.agent_id', 'data.conversation_id', 'ignored.nested.2', 'ignored.nested.4']);
      assert.equal(r.streamed, DOC.data.full_audio, `chunk ${chunk}`);
      assert.equal(r.values.get('type'), 'post_call_audio');
      assert.equal(r.values.get('event_timestamp'), 1739537297);
      assert.equal(r.values.get('data.agent_id'), DOC.data.agent_id, 'surrogate pairs across \\u escapes');
      assert.equal(r.values.get('data.conversation_id'), 'conv_01jx');
      assert.equal(r.values.get('ignored.nested.2'), true);
      assert.equal(r.values.get('ignored.nested.4'), null);
    }
  }
});

test('malformed JSON is refused with the byte offset; what JSON.parse accepts is accepted', () => {
  const bad = ['', '{', '{"a":1,}', '{"a" 1}', '[1 2]', '{"a":tru}', '{"a":01}', '{"a":"\\x"}', '{"a":"\\u12G4"}', '{} {}', '{"a":1}]', '{"a":-}', '"open'];
  for (const text of bad) {
    assert.throws(() => JSON.parse(text), SyntaxError, text);
    assert.throws(() => scan(text, 1, []), JsonSyntaxError, text);
    assert.throws(() => scan(text, 64, []), JsonSyntaxError, text);
  }
  for (const text of ['{}', '[]', ' {"a":[[],{}],"b":"\\"\\\\\\/\\b\\f\\n\\r\\t"} ', '[0,-0.5,1e5,2E-3,"",null]', '"x"', '12']) {
    assert.doesNotThrow(() => scan(text, 1, []), text);
  }
});

test('a collected value longer than the cap is dropped, never kept in part', () => {
  const s = new JsonScanner({ collect: ['a', 'b'], maxCollectBytes: 8 });
  s.push(Buffer.from('{"a":"0123456789","b":"short"}'));
  s.end();
  assert.equal(s.values.has('a'), false);
  assert.equal(s.values.get('b'), 'short');
});

test('base64 streams in any split, with line breaks, and refuses what is not base64', () => {
  const bytes = Buffer.from(Array.from({ length: 1000 }, (_, i) => (i * 37) % 256));
  for (const text of [bytes.toString('base64'), bytes.toString('base64url'), bytes.toString('base64').replace(/(.{76})/g, '$1\r\n')]) {
    for (const chunk of [1, 2, 3, 4, 5, 77, 4096]) {
      const d = new Base64Stream();
      const out: Buffer[] = [];
      for (let i = 0; i < text.length; i += chunk) {
        d.push(Buffer.from(text.slice(i, i + chunk), 'latin1'));
        out.push(Buffer.from(d.take()));
      }
      d.end();
      assert.deepEqual(Buffer.concat(out), bytes, `chunk ${chunk}`);
    }
  }
  const refuse = (text: string) => {
    const d = new Base64Stream();
    assert.throws(() => {
      d.push(Buffer.from(text, 'latin1'));
      d.end();
    }, Base64Error, text);
  };
  refuse('QUJD$EVG');
  refuse('QUJDRA==QUJD');
  refuse('QUJDR');
  refuse('QUJDR=');
  refuse('QUJDRA=');
  refuse('QUJDREU==');
  refuse('=QUJD');
  for (const ok of ['QUJDRA==', 'QUJDREU=', 'QUJDRA', 'QUJDREU', '']) {
    const d = new Base64Stream();
    d.push(Buffer.from(ok));
    d.end();
    assert.deepEqual(d.take(), Buffer.from(ok, 'base64'), ok);
  }
});
