// Runs inside the workspace: shows where it runs and what it sees.
import { hostname } from 'node:os';
console.log(`hello from ${hostname()} (node ${process.version}), cwd ${process.cwd()}, workspace ${process.env.BERTH_WORKSPACE ?? '?'}`);
