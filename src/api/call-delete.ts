// Deleting a call: refused while it is being captured or worked on; the cloud copies first (so a
// provider failure leaves everything local in place to try again), then the rows in one
// transaction, then the call's folder.
import fs from 'node:fs';
import path from 'node:path';
import type { FastifyBaseLogger } from 'fastify';
import type { SessionRegistry } from '../capture/registry.js';
import type { CallFiles } from '../storage/call-files.js';
import type { Store } from '../store/db.js';
import type { TwilioRest } from '../twilio/rest.js';

export interface DeleteDeps {
  store: Store;
  twilio: TwilioRest | null;
  registry: SessionRegistry;
  recordingsDir: string;
  files: CallFiles;
}

export type DeleteReply =
  | { code: 200; body: { deleted: true; call_sid: string; files_removed: number; cloud_deleted: string[] } }
  | { code: 404 | 409 | 502 | 503; body: { error: string } };

const NO_CREDENTIALS =
  'Twilio credentials are not configured (TWILIO_ACCOUNT_SID with TWILIO_AUTH_TOKEN, or TWILIO_API_KEY_SID with ' +
  'TWILIO_API_KEY_SECRET): cloud recordings cannot be deleted. Nothing was removed; retry without cloud=true to delete the local copy only.';

/** Why the call cannot be deleted now, or null. The store transaction checks again. */
async function busy(deps: DeleteDeps, callSid: string): Promise<string | null> {
  const streams = await deps.store.streams.listByCall(callSid);
  // The registry knows a capture the moment it opens, before its row is written.
  if (streams.some((s) => s.state === 'open' || deps.registry.get(s.streamSid))) return 'a live capture of this call is still open';
  const jobs = await Promise.all((await deps.store.calls.relatedJobIds(callSid)).map((id) => deps.store.jobs.get(id)));
  return jobs.some((j) => j?.state === 'running') ? 'a job for this call is running' : null;
}

async function deleteInCloud(deps: DeleteDeps, twilio: TwilioRest, callSid: string): Promise<{ deleted: string[]; error?: string }> {
  const deleted: string[] = [];
  for (const r of await deps.store.recordings.listByCall(callSid)) {
    if (r.provider !== 'twilio') continue;
    try {
      // A 404 counts as deleted, so a flag that is out of date does no harm.
      await twilio.deleteRecording(r.mediaPath);
    } catch (err) {
      return { deleted, error: `Twilio could not delete recording ${r.recordingSid}: ${(err as Error).message}` };
    }
    await deps.store.recordings.markCloudDeleted(r.recordingSid);
    deleted.push(r.recordingSid);
  }
  return { deleted };
}

/** The folder named by the (validated) CallSid, directly under RECORDINGS_DIR; a symlink in its
 *  place is unlinked, never followed. Returns the files removed. */
async function removeCallFolder(recordingsDir: string, callSid: string): Promise<number> {
  const root = path.resolve(recordingsDir);
  const dir = path.resolve(root, callSid);
  if (path.dirname(dir) !== root) throw new Error('call folder outside RECORDINGS_DIR');
  const st = await fs.promises.lstat(dir).catch(() => null);
  if (!st) return 0;
  if (!st.isDirectory()) {
    await fs.promises.unlink(dir);
    return 0;
  }
  const entries = await fs.promises.readdir(dir, { withFileTypes: true });
  await fs.promises.rm(dir, { recursive: true, force: true });
  return entries.filter((e) => !e.isDirectory()).length;
}

export async function deleteCall(deps: DeleteDeps, callSid: string, cloud: boolean, log: FastifyBaseLogger): Promise<DeleteReply> {
  if (!(await deps.store.calls.get(callSid))) return { code: 404, body: { error: `Unknown call ${callSid}` } };
  if (cloud && !deps.twilio) return { code: 503, body: { error: NO_CREDENTIALS } };
  const reason = await busy(deps, callSid);
  if (reason) return { code: 409, body: { error: `Cannot delete the call now: ${reason}; try again once it is finished` } };
  let cloudDeleted: string[] = [];
  if (cloud && deps.twilio) {
    const res = await deleteInCloud(deps, deps.twilio, callSid);
    cloudDeleted = res.deleted;
    if (res.error) {
      log.warn({ callSid, cloudDeleted }, 'call delete stopped: a cloud recording could not be deleted');
      return { code: 502, body: { error: `${res.error}. Nothing local was removed.` } };
    }
  }
  const out = await deps.store.calls.deleteCall(callSid);
  if (out.outcome === 'not_found') return { code: 404, body: { error: `Unknown call ${callSid}` } };
  if (out.outcome === 'busy') return { code: 409, body: { error: `Cannot delete the call now: ${out.reason}; try again once it is finished` } };
  // The spool folder here, and the stored copies when they live in object storage.
  const filesRemoved = (await removeCallFolder(deps.recordingsDir, callSid)) + (deps.files.remote ? await deps.files.remove(callSid) : 0);
  log.info({ callSid, filesRemoved, rowsRemoved: out.rows, cloudDeleted }, 'call deleted');
  return { code: 200, body: { deleted: true, call_sid: callSid, files_removed: filesRemoved, cloud_deleted: cloudDeleted } };
}
