// Writes docs/openapi.json from the daemon's route table (`npm run openapi`); a test keeps it current.
import { readFileSync, writeFileSync } from 'node:fs';
import { openApiDocument } from '../src/daemon/http/openapi.js';
import { ROUTES } from '../src/daemon/http/routes.js';

const root = new URL('../', import.meta.url);
const { version } = JSON.parse(readFileSync(new URL('package.json', root), 'utf8')) as { version: string };
writeFileSync(new URL('docs/openapi.json', root), `${JSON.stringify(openApiDocument(ROUTES, version), null, 2)}\n`);
