// Identifiers of calls, streams and recordings across providers. They name folders and files of
// the recordings contract, so each is a fixed, path-safe shape: Twilio's own SIDs, and for other
// providers an id of ours with a provider prefix (Vonage and ElevenLabs ids are not SIDs).
import { randomBytes } from 'node:crypto';

export type Provider = 'twilio' | 'vonage' | 'elevenlabs';

const HEX32 = '[0-9a-fA-F]{32}';
/** ElevenLabs conversation ids look like `conv_01jx…`; anything path-safe and bounded is taken. */
const EL_ID = '[A-Za-z0-9_-]{1,96}';

/** Twilio CallSid | Vonage call (VN + 32 hex) | ElevenLabs conversation (EL- + its id). */
export const CALL_ID_PATTERN = `^(CA${HEX32}|VN${HEX32}|EL-${EL_ID})$`;
/** Twilio StreamSid | a Vonage WebSocket leg (VS + 32 hex). */
export const STREAM_ID_PATTERN = `^(MZ|VS)${HEX32}$`;
/** Twilio RecordingSid | Vonage recording (VR + 32 hex) | ElevenLabs audio (EL- + conversation). */
export const RECORDING_ID_PATTERN = `^(RE${HEX32}|VR${HEX32}|EL-${EL_ID})$`;

export const CALL_ID = new RegExp(CALL_ID_PATTERN);
export const STREAM_ID = new RegExp(STREAM_ID_PATTERN);
export const RECORDING_ID = new RegExp(RECORDING_ID_PATTERN);
const STREAM_PART = `(?:MZ|VS)${HEX32}`;
const RECORDING_PART = `(?:RE${HEX32}|VR${HEX32}|EL-${EL_ID})`;
/** Contract file names: `<StreamId>.<track>.<rate>.wav`, `cloud.<RecordingId>.<ext>`. */
export const CAPTURE_FILE = new RegExp(`^(${STREAM_PART})\\.(inbound|outbound|stereo)\\.`);
export const CLOUD_FILE = new RegExp(`^cloud\\.(${RECORDING_PART})\\.(wav|mp3)$`);
export const SERVABLE_FILE = new RegExp(
  `^(${STREAM_PART}\\.(inbound|outbound)\\.(8k|16k)\\.wav|${STREAM_PART}\\.stereo\\.8k\\.wav|cloud\\.${RECORDING_PART}\\.(wav|mp3)` +
    '|final\\.(stereo|agent\\.16k|customer\\.16k)\\.wav|reconciliation\\.json|transcript\\.json)$',
);

/** A UUID (any case, dashes optional, `CON-` style prefix dropped) as 32 lower-case hex, or null. */
export function uuidHex(uuid: string): string | null {
  const hex = uuid.replace(/^[A-Za-z]{2,4}-/, '').replace(/-/g, '').toLowerCase();
  return /^[0-9a-f]{32}$/.test(hex) ? hex : null;
}

/** Which provider a call id belongs to, from its shape alone (no store lookup). */
export function providerOfCallId(callSid: string): Provider {
  return callSid.startsWith('VN') ? 'vonage' : callSid.startsWith('EL-') ? 'elevenlabs' : 'twilio';
}

export const newVonageCallId = () => `VN${randomBytes(16).toString('hex')}`;
export const newVonageStreamId = () => `VS${randomBytes(16).toString('hex')}`;
/** Calls first seen in a provider webhook get an id derived from the provider's, so two
 *  webhooks racing for the same conversation agree on one row. */
export const vonageCallIdOf = (conversationUuid: string) => {
  const hex = uuidHex(conversationUuid);
  return hex ? `VN${hex}` : null;
};
export const vonageRecordingIdOf = (recordingUuid: string) => {
  const hex = uuidHex(recordingUuid);
  return hex ? `VR${hex}` : null;
};
export const elevenLabsIdOf = (conversationId: string) => (new RegExp(`^${EL_ID}$`).test(conversationId) ? `EL-${conversationId}` : null);
