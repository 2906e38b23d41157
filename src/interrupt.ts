/**
 * Turns the first Ctrl-C (SIGINT) or SIGTERM into an abort signal, so a long command can stop
 * between steps, print what happened so far and exit 130. A second Ctrl-C exits at once, after
 * `beforeExit` (e.g. writing out buffered output) has settled, for at most 2 s; a third exits now.
 */
export function watchInterrupt(options: { beforeExit?: () => unknown } = {}): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  let exiting = false;
  const onSignal = () => {
    if (controller.signal.aborted) {
      if (exiting || options.beforeExit === undefined) process.exit(130);
      exiting = true;
      setTimeout(() => process.exit(130), 2_000).unref();
      void Promise.resolve()
        .then(options.beforeExit)
        .finally(() => process.exit(130));
      return;
    }
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    signal: controller.signal,
    dispose() {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}
