import { readFileSync } from 'node:fs';

/** The package's version, what each node reports to the registry: read once, from src/ and dist/ alike. */
export const VERSION: string = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
