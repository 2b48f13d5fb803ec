// What the Vonage NCCO the gateway builds and the Vonage endpoints it serves agree on. Vonage
// documents no signature on its WebSocket upgrade, so the NCCO carries a per-call token (the
// same HMAC as Twilio's stream token) in the endpoint `headers`, which Vonage echoes in the
// first text frame.
import type { Track } from '../twilio/messages.js';
import { streamToken } from '../twilio/signature.js';

export const VONAGE_RECORDING_PATH = '/vonage/recording';
export const VONAGE_EVENT_PATH = '/vonage/event';
export const VONAGE_MEDIA_STREAM_PATH = '/vonage/media-stream';
/** 16 kHz is Vonage's common rate; the capture keeps it as the 16k file and derives the 8k one. */
export const VONAGE_WS_CONTENT_TYPE = 'audio/l16;rate=16000';

/** The `headers` of the NCCO websocket endpoint, echoed in Vonage's `websocket:connected` frame. */
export interface VonageWsHeaders {
  callvault_call: string;
  callvault_token: string;
  /** which track of the call this leg's audio is: `inbound` = the called party's own voice */
  callvault_track: Track;
}

export interface VonageWebsocketEndpoint {
  type: 'websocket';
  uri: string;
  'content-type': string;
  headers: VonageWsHeaders;
}

/** wss URL of a path under PUBLIC_URL (http → ws for local development). */
export const wsUrl = (publicUrl: string, path: string) => `${publicUrl.replace(/^http/, 'ws')}${path}`;

export function vonageWebsocketEndpoint(publicUrl: string, tokenSecret: string, callSid: string, track: Track = 'inbound'): VonageWebsocketEndpoint {
  return {
    type: 'websocket',
    uri: wsUrl(publicUrl, VONAGE_MEDIA_STREAM_PATH),
    'content-type': VONAGE_WS_CONTENT_TYPE,
    headers: { callvault_call: callSid, callvault_token: streamToken(tokenSecret, callSid), callvault_track: track },
  };
}
