/** FaceSign's retry schedule and a clock-driven runner. Pure of the rest of the project. */
export {
  DEFAULT_SCHEDULE,
  MAX_DELAY_MS,
  MAX_SCHEDULE_ENTRIES,
  ScheduleError,
  formatDuration,
  formatOffset,
  formatSchedule,
  parseDuration,
  parseSchedule,
  planRetries,
  type PlannedAttempt,
} from './schedule.js';
export {
  FINE_WAIT_MS,
  MAX_TIMER_MS,
  createFakeClock,
  createRealClock,
  realClock,
  type Clock,
  type FakeClock,
} from './clock.js';
export {
  runRetries,
  type AttemptOutcome,
  type AttemptReport,
  type RetryOutcome,
  type RetryRunResult,
  type RunRetriesOptions,
  type WaitInfo,
} from './run.js';
