import type { ApiRoutes } from './index.js';

/** GET /api/calls, GET and DELETE /api/calls/:callSid (being built). */
export const registerCallsApi: ApiRoutes = () => {};
