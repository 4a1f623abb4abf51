// Pages in a real Chromium for the dashboard's tests, through playwright-core: the Chromium the
// @sparticuz/chromium dev dependency ships, or TIMETRACER_TEST_CHROMIUM's.
import { tempDir } from './harness.js';

const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
  '--disable-sync',
];

/** The browser: TIMETRACER_TEST_CHROMIUM (Debian's /usr/bin/chromium, say), else the one in @sparticuz/chromium. */
async function chromiumLaunch() {
  if (process.env.TIMETRACER_TEST_CHROMIUM) return { executablePath: process.env.TIMETRACER_TEST_CHROMIUM, args: CHROMIUM_FLAGS };
  const { default: packaged } = await import('@sparticuz/chromium');
  return { executablePath: await packaged.executablePath(), args: CHROMIUM_FLAGS };
}
/** A page in a fresh Chromium profile, closed after the test, with the dialogs it opened and its errors. */
export async function browserPage(t) {
  const { chromium } = await import('playwright-core');
  const context = await chromium.launchPersistentContext(tempDir(t, 'timetracer-chromium-'), {
    ...(await chromiumLaunch()),
    headless: true,
    viewport: { width: 1360, height: 860 },
  });
  t.after(() => context.close());
  const page = context.pages()[0] ?? (await context.newPage());
  const dialogs = [];
  const pageErrors = [];
  page.on('dialog', (dialog) => {
    dialogs.push(dialog.message());
    dialog.dismiss();
  });
  page.on('pageerror', (error) => pageErrors.push(error.message));
  return { context, page, dialogs, pageErrors };
}
