// Debian's Chromium, as every browser test launches it (never a browser a tool
// downloads): missing, the test fails and says how to install it.
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';
import { cleanEnv } from './clean-env.ts';

export const CHROMIUM = '/usr/bin/chromium';

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`No browser at ${CHROMIUM}: this test needs Debian's Chromium. Install it with: apt-get update && apt-get install -y chromium`);
  }
  return chromium.launch({
    executablePath: CHROMIUM,
    env: cleanEnv(),
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--no-first-run',
      '--disable-sync',
      '--disable-quic',
    ],
  });
}
