// What every controller command does before it starts anything: a crash is logged and ends the process, and the
// site config is loaded (the embedded default without a file) or the process ends with the config's problems.
import type { Logger } from '../controller/log.js';
import { defaultSite, loadSiteConfig, SiteConfigError } from '../apps/dmz/config.js';
import type { Site } from '../apps/dmz/site.js';

export function exitOnCrash(log: Logger): void {
  process.on('uncaughtException', (e) => {
    log.fatal({ err: e }, 'uncaught exception; exiting');
    process.exit(1);
  });
  process.on('unhandledRejection', (e) => {
    log.fatal({ err: e }, 'unhandled promise rejection; exiting');
    process.exit(1);
  });
}

/** The site, or exit 2 with the config's problems, each with its line and field, for the engineer. */
export function siteOrExit(configFile: string | undefined): Site {
  try {
    return configFile ? loadSiteConfig(configFile) : defaultSite();
  } catch (e) {
    console.error(e instanceof SiteConfigError ? e.message : `cannot load the site config: ${(e as Error).message}`);
    process.exit(2);
  }
}
