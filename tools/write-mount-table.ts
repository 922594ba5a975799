// Writes README's "Mounts Berth refuses" table from the code's (`npm run mount-table`); a test keeps it current.
import { readFileSync, writeFileSync } from 'node:fs';
import { sensitivePathsMarkdown } from '../src/runtime/sensitive-paths.js';

const START = '<!-- sensitive-paths:start -->';
const END = '<!-- sensitive-paths:end -->';

const readme = new URL('../README.md', import.meta.url);
const text = readFileSync(readme, 'utf8');
const [before, rest] = [text.slice(0, text.indexOf(START)), text.slice(text.indexOf(END))];
if (!text.includes(START) || !rest.startsWith(END)) throw new Error(`README.md lacks the ${START} ... ${END} markers.`);
writeFileSync(readme, `${before}${START}\n${sensitivePathsMarkdown()}\n${rest}`);
