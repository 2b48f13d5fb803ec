// Vonage has no recordings API to sweep: a live-captured call whose recording event never comes
// is still reconciled (from the capture alone) once CLOUD_SWEEP_AFTER_S has passed.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startGateway } from '../helpers/gateway.js';
import { addVonageCall, connectVonage, connectedFrame, finishedStream, speech, vonageCallId } from './vonage-ws-client.js';

const SECRET = 'vonage-fallback-secret-0123456789';

test('no recording event: the Vonage capture is reconciled alone after the sweep delay, once', async (t) => {
  const gw = await startGateway({ STREAM_TOKEN_SECRET: SECRET, CLOUD_SWEEP_AFTER_S: '1', JOB_POLL_MS: '50' });
  t.after(() => gw.close());
  assert.equal(gw.config.cloud.enabled, true, "Twilio's cloud recording is on, so nothing reconciles at capture end");
  const callSid = vonageCallId(77);
  await addVonageCall(gw, callSid);
  const c = await connectVonage(gw);
  c.text(connectedFrame(SECRET, { callSid, track: 'inbound' }));
  const s = speech('Hello, I am calling about my order.', 16000);
  c.audio(s.subarray(0, s.length - (s.length % 320)));
  c.ws.close();
  await finishedStream(gw, callSid);
  const { store } = gw.app.gateway;
  assert.equal(await store.reconciliations.get(callSid), undefined, 'not before the delay');
  let rec;
  for (let i = 0; i < 200 && !rec; i++) {
    rec = await store.reconciliations.get(callSid);
    if (!rec) await new Promise((r) => setTimeout(r, 50));
  }
  assert.ok(rec, 'reconciled after the delay');
  assert.equal(rec.verdict, 'local-only');
  assert.match(String((rec.report as { reason?: string }).reason), /Vonage sent no recording event/);
  const job = await store.jobs.getByKey(`reconcile-fallback:${callSid}`);
  assert.equal(job?.state, 'succeeded');
  assert.equal(job?.attempts, 1);
});
