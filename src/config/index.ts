import { loadConfig } from './load.js';
import { resolveSettings, type ProjectSettings, type SettingFlags } from './resolve.js';

export { configAbove, fileLabel, findConfigFile, hasPackageSection, loadConfig } from './load.js';
export { resolveSettings } from './resolve.js';
export type { ProjectSettings, Setting, SettingFlags, SettingSource } from './resolve.js';
export { routeFor } from './routes.js';
export { CONFIG_FILE_NAME, type LoadedConfig, type ProjectConfig } from './schema.js';
export { starterConfig } from './starter.js';
export { validateConfig } from './validate.js';

/** The project's settings for a run: the config (`--config FILE`, else the one found upward) under the flags. */
export function projectSettings(
  configFile: string | undefined,
  flags: SettingFlags,
  { env = process.env, cwd = process.cwd() }: { env?: NodeJS.ProcessEnv; cwd?: string } = {},
): ProjectSettings {
  return resolveSettings({ flags, env, config: loadConfig({ file: configFile, cwd }) });
}
