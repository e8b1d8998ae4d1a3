import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** The shared, read-only captures beside the project (../shared/fixtures/jvb). */
export const FIXTURE_DIR = resolve(__dirname, '..', '..', '..', 'shared', 'fixtures', 'jvb');

export function fixtureText(name: string): string {
  return readFileSync(join(FIXTURE_DIR, name), 'utf8');
}

export function fixtureJson(name: string): Record<string, unknown> {
  return JSON.parse(fixtureText(name)) as Record<string, unknown>;
}

export function jsonFixtureNames(): string[] {
  return readdirSync(FIXTURE_DIR)
    .filter((name) => name.endsWith('.json'))
    .sort();
}

export const ACTIVE_2021 = 'colibri-stats-2021-08-v2.1.508-active.json';
export const IDLE_2021 = 'colibri-stats-2021-08-v2.1.508-idle.json';
export const CAPTURE_2026 = 'colibri-stats-2026-03-v2.3.63.json';
export const SEED_OUTPUT = 'seed-adapter-readme-output.prom';
