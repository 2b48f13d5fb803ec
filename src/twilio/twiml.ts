// TwiML for the voice webhook, built with twilio's VoiceResponse so escaping and attribute names
// follow Twilio's own SDK.
import twilio from 'twilio';

const { VoiceResponse } = twilio.twiml;

export type DialTarget =
  | { kind: 'number'; number: string; callerId: string }
  | { kind: 'client'; identity: string };

export interface CallTwimlOptions {
  /** wss:// URL of the media stream endpoint (no query string: Twilio forbids one) */
  streamUrl: string;
  streamStatusUrl: string;
  /** per-call token, carried in a <Parameter> because the stream URL cannot hold a query */
  streamToken: string;
  /** omitted when cloud recording is off: no <Recording> is started */
  recordingStatusUrl?: string;
  /** where Twilio posts when the dialled leg ends */
  dialActionUrl: string;
  dial: DialTarget;
}

export const STREAM_TOKEN_PARAMETER = 'token';

export function buildCallTwiml(o: CallTwimlOptions): string {
  const response = new VoiceResponse();
  const stream = response.start().stream({
    url: o.streamUrl,
    track: 'both_tracks',
    statusCallback: o.streamStatusUrl,
    statusCallbackMethod: 'POST',
  });
  stream.parameter({ name: STREAM_TOKEN_PARAMETER, value: o.streamToken });
  // do-not-trim: Twilio's default trims leading silence, which would move the cloud recording
  // against the live capture and break reconciliation.
  if (o.recordingStatusUrl !== undefined) {
    response.start().recording({
      channels: 'dual',
      track: 'both',
      trim: 'do-not-trim',
      recordingStatusCallback: o.recordingStatusUrl,
      recordingStatusCallbackMethod: 'POST',
      recordingStatusCallbackEvent: ['in-progress', 'completed', 'absent'],
    });
  }
  if (o.dial.kind === 'number') {
    response.dial({ callerId: o.dial.callerId, action: o.dialActionUrl, method: 'POST' }).number(o.dial.number);
  } else {
    response.dial({ action: o.dialActionUrl, method: 'POST' }).client(o.dial.identity);
  }
  return response.toString();
}

/** A spoken refusal: the caller hears why, Twilio gets valid TwiML instead of a 500. */
export function sayAndHangUp(message: string): string {
  const response = new VoiceResponse();
  response.say(message);
  response.hangup();
  return response.toString();
}

export function hangUp(): string {
  const response = new VoiceResponse();
  response.hangup();
  return response.toString();
}
