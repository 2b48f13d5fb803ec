// GET /api/live: the calls being captured right now, with each track's current level, for the
// browser app's live view. Levels come from the open sessions in this process's registry.
import { Type } from '@sinclair/typebox';
import type { ApiRoutes } from './index.js';

const Level = Type.Object({
  rms: Type.Number({ description: 'RMS of the last committed block, 0..1 of full scale' }),
  dbfs: Type.Union([Type.Number(), Type.Null()], { description: 'the same in dBFS; null for digital silence' }),
});

const LiveCall = Type.Object({
  call_sid: Type.String(),
  stream_sid: Type.String(),
  direction: Type.Union([Type.String(), Type.Null()]),
  from: Type.Union([Type.String(), Type.Null()]),
  to: Type.Union([Type.String(), Type.Null()]),
  agent_track: Type.Union([Type.String(), Type.Null()]),
  duration_s: Type.Number({ description: 'audio committed so far' }),
  levels: Type.Object({ inbound: Level, outbound: Level }),
});

const level = (rms: number) => ({ rms: Math.round(rms * 1e5) / 1e5, dbfs: rms > 0 ? Math.round(20 * Math.log10(rms) * 10) / 10 : null });

export const registerLiveApi: ApiRoutes = (api, deps) => {
  api.get('/live', {
    schema: {
      tags: ['calls'],
      summary: 'Calls being captured now, with per-track levels',
      response: { 200: Type.Object({ calls: Type.Array(LiveCall) }) },
    },
  }, async () => {
    const calls = [];
    for (const session of api.gateway.registry.list()) {
      const row = await deps.store.calls.get(session.callSid);
      const { rms, durationS } = session.levels();
      calls.push({
        call_sid: session.callSid,
        stream_sid: session.streamSid,
        direction: row?.direction ?? null,
        from: row?.fromNumber ?? null,
        to: row?.toNumber ?? null,
        agent_track: row?.agentTrack ?? null,
        duration_s: Math.round(durationS * 100) / 100,
        levels: { inbound: level(rms.inbound), outbound: level(rms.outbound) },
      });
    }
    return { calls };
  });
};
