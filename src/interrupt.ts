/**
 * Turns the first Ctrl-C (SIGINT) or SIGTERM into an abort signal, so a long command can stop
 * between steps, print what happened so far and exit 130. A second Ctrl-C exits at once.
 */
export function watchInterrupt(): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const onSignal = () => {
    if (controller.signal.aborted) process.exit(130);
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
