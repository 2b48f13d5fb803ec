import type { ApiRoutes } from './index.js';

/** GET /api/twilio/recordings/: the seed's list of Twilio recordings (being built). */
export const registerRecordingsApi: ApiRoutes = () => {};
