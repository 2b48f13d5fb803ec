// The `POST /v1/calls` body of a call the gateway places: an NCCO that records the conversation in
// stereo (split:'conversation', WAV, event to /vonage/recording), then connects the called
// customer either to the agent's phone or to the gateway's WebSocket for live capture.
import { VONAGE_EVENT_PATH, VONAGE_RECORDING_PATH, vonageWebsocketEndpoint } from './vonage-contract.js';

export type ConnectTarget = { kind: 'phone'; number: string } | { kind: 'websocket' };

export interface OutboundCallInput {
  publicUrl: string;
  tokenSecret: string;
  callSid: string;
  /** E.164 (+…) */
  to: string;
  from: string;
  connect: ConnectTarget;
}

type NccoAction = Record<string, unknown>;

/** Vonage writes numbers in E.164 without the plus: 447700900000. */
export const vonageNumber = (e164: string) => e164.replace(/^\+/, '');

export function recordAction(publicUrl: string): NccoAction {
  return { action: 'record', split: 'conversation', format: 'wav', eventUrl: [`${publicUrl}${VONAGE_RECORDING_PATH}`], eventMethod: 'POST' };
}

function connectAction(i: OutboundCallInput): NccoAction {
  if (i.connect.kind === 'phone') {
    return { action: 'connect', from: vonageNumber(i.from), endpoint: [{ type: 'phone', number: vonageNumber(i.connect.number) }] };
  }
  // The called party's leg carries the customer's voice: track `inbound` of the call.
  return { action: 'connect', endpoint: [vonageWebsocketEndpoint(i.publicUrl, i.tokenSecret, i.callSid, 'inbound')] };
}

export function outboundCallBody(i: OutboundCallInput) {
  return {
    to: [{ type: 'phone', number: vonageNumber(i.to) }],
    from: { type: 'phone', number: vonageNumber(i.from) },
    ncco: [recordAction(i.publicUrl), connectAction(i)],
    event_url: [`${i.publicUrl}${VONAGE_EVENT_PATH}`],
    event_method: 'POST',
  };
}

/** The NCCO as the API shows it: the WebSocket token is a secret and is left out. */
export function withoutToken(ncco: readonly NccoAction[]): NccoAction[] {
  return ncco.map((action) => {
    const endpoint = action.endpoint;
    if (!Array.isArray(endpoint)) return action;
    return {
      ...action,
      endpoint: endpoint.map((e: Record<string, unknown>) => {
        if (!e.headers || typeof e.headers !== 'object') return e;
        const { callvault_token: _token, ...headers } = e.headers as Record<string, unknown>;
        return { ...e, headers };
      }),
    };
  });
}
