// Writes docs/configuration.md from the settings tables (npm run docs:config).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { configurationReference } from '../src/config/configuration-reference';

writeFileSync(join(__dirname, '..', 'docs', 'configuration.md'), configurationReference());
