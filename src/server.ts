// Entry point: configuration, the app, listen; SIGTERM/SIGINT close every open capture cleanly
// before the process exits.
import { buildApp } from './app.js';
import { ConfigError, loadConfig, type Config } from './config.js';
import { createLogger } from './log.js';

function configOrExit(): Config {
  try {
    return loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`callvault: ${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
}

const SHUTDOWN_TIMEOUT_MS = 15_000;

async function main(): Promise<void> {
  const config = configOrExit();
  const log = createLogger(config.logLevel);
  const app = await buildApp(config, { logger: log });
  let closing = false;
  const shutdown = (signal: string, code: number) => {
    if (closing) {
      log.warn({ signal }, 'second signal: exiting without waiting');
      process.exit(1);
    }
    closing = true;
    log.info({ signal }, 'shutting down: finalising open captures');
    // Finalising is bounded work per capture; a hang elsewhere must not keep a dead process.
    setTimeout(() => {
      log.error({ timeoutMs: SHUTDOWN_TIMEOUT_MS }, 'shutdown timed out');
      process.exit(1);
    }, SHUTDOWN_TIMEOUT_MS).unref();
    app.close().then(
      () => process.exit(code),
      (err: unknown) => {
        log.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM', 0));
  process.on('SIGINT', () => shutdown('SIGINT', 0));
  process.on('uncaughtException', (err) => {
    log.fatal({ err }, 'uncaught exception');
    shutdown('uncaughtException', 1);
  });
  await app.listen({ port: config.port, host: config.host });
  log.info(
    { port: config.port, recordingsDir: config.recordingsDir, instanceId: config.instanceId },
    'callvault is listening',
  );
}

main().catch((err: unknown) => {
  process.stderr.write(`callvault: failed to start: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
