// POST /api/vonage/calls: places an outbound call through Vonage with an NCCO that records it in
// stereo and connects the customer to the agent's phone, or to the gateway's WebSocket for live
// capture. The call row exists before Vonage is asked, so a refused call is still on record (as
// failed) and a fast status event always finds its call once Vonage has answered.
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { newVonageCallId } from '../ids.js';
import { vonageAppCredentials } from '../providers/vonage-jwt.js';
import { outboundCallBody, withoutToken, type ConnectTarget } from '../providers/vonage-ncco.js';
import { VonageRest } from '../providers/vonage-rest.js';
import { ErrorBody } from './call-schemas.js';
import type { ApiRoutes } from './index.js';

const E164 = '^\\+[1-9]\\d{6,14}$';

const PlaceCallBody = Type.Object({
  to: Type.String({ pattern: E164, description: "the customer's number, E.164 (+…)" }),
  agent_number: Type.Optional(Type.String({ pattern: E164, description: "connect the customer to this agent's phone" })),
  live_capture: Type.Optional(Type.Boolean({ description: "connect the customer to the gateway's WebSocket: the call is captured live" })),
}, { additionalProperties: false });

const PlacedCall = Type.Object({
  call_sid: Type.String(),
  provider: Type.Literal('vonage'),
  conversation_uuid: Type.String(),
  vonage_uuid: Type.String({ description: "the called leg's uuid" }),
  status: Type.String(),
  live_capture: Type.Boolean(),
  ncco: Type.Array(Type.Unknown(), { description: 'the NCCO actions sent to Vonage (without the WebSocket token)' }),
});

const toE164 = (n: string) => (n.startsWith('+') ? n : `+${n}`);

export function vonageCallsRoutes(o: { tokenSecret: string }): ApiRoutes {
  return (app, deps) => {
    const api = app.withTypeProvider<TypeBoxTypeProvider>();
    const { config, store } = deps;
    const creds = vonageAppCredentials(config.vonage);
    const rest = new VonageRest({ apiBaseUrl: config.vonage.apiBaseUrl, credentials: creds.ok ? creds.credentials : null, timeoutMs: config.cloud.httpTimeoutMs });
    const allowed = (n: string) => config.dialAllowedPrefixes.some((p) => n.startsWith(p));

    api.post('/vonage/calls', {
      schema: {
        tags: ['calls'], summary: 'Place an outbound call through Vonage, recorded in stereo',
        description: 'Exactly one of agent_number or live_capture: true. Numbers must match DIAL_ALLOWED_PREFIXES.',
        body: PlaceCallBody,
        response: { 201: PlacedCall, 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 502: ErrorBody, 503: ErrorBody },
      },
    }, async (request, reply) => {
      const { to, agent_number: agent, live_capture: live = false } = request.body;
      if ((agent === undefined) === !live) return reply.code(400).send({ error: 'give exactly one of agent_number or live_capture: true' });
      const missing = [...(creds.ok ? [] : creds.missing), ...(config.vonage.fromNumber ? [] : ['VONAGE_FROM_NUMBER'])];
      if (missing.length > 0 || !config.vonage.fromNumber) {
        request.log.error({ missing }, 'Vonage call refused: configuration missing');
        return reply.code(503).send({ error: `Vonage calls are not configured: set ${missing.join(', ')}` });
      }
      const refused = [to, agent].find((n) => n !== undefined && !allowed(n));
      if (refused !== undefined) return reply.code(403).send({ error: 'the number is not in DIAL_ALLOWED_PREFIXES' });

      const from = toE164(config.vonage.fromNumber);
      const callSid = newVonageCallId();
      const log = request.log.child({ callSid });
      await store.calls.upsert({
        callSid, provider: 'vonage', direction: 'outbound', agentTrack: 'outbound', customerTrack: 'inbound',
        status: 'initiated', fromNumber: from, toNumber: to,
      });
      const connect: ConnectTarget = agent !== undefined ? { kind: 'phone', number: agent } : { kind: 'websocket' };
      const body = outboundCallBody({ publicUrl: config.publicUrl, tokenSecret: o.tokenSecret, callSid, to, from, connect });
      let created;
      try {
        created = await rest.createCall(body);
      } catch (err) {
        await store.calls.setStatus(callSid, 'failed', new Date().toISOString());
        log.warn({ err }, 'Vonage refused the call');
        return reply.code(502).send({ error: `Vonage did not place the call: ${(err as Error).message}` });
      }
      await store.calls.setProviderCallId(callSid, created.conversation_uuid);
      // A status event may already have moved it on; only the first answer replaces `initiated`.
      if ((await store.calls.get(callSid))?.status === 'initiated') await store.calls.setStatus(callSid, created.status);
      log.info({ liveCapture: live }, 'Vonage call placed');
      return reply.code(201).send({
        call_sid: callSid, provider: 'vonage', conversation_uuid: created.conversation_uuid, vonage_uuid: created.uuid,
        status: created.status, live_capture: live, ncco: withoutToken(body.ncco),
      });
    });
  };
}
