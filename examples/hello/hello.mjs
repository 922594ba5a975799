// Runs inside the workspace: shows where it runs and what it can and cannot see.
import { accessSync, constants, readdirSync, writeFileSync, rmSync } from 'node:fs';
import { homedir, hostname } from 'node:os';
import { join } from 'node:path';
console.log(`hello from ${hostname()} (node ${process.version}), cwd ${process.cwd()}, workspace ${process.env.BERTH_WORKSPACE ?? '?'}`);
const can = (what, fn) => {
  try {
    fn();
    console.log(`  can    ${what}`);
  } catch (error) {
    console.log(`  cannot ${what} (${error.code ?? error.message})`);
  }
};
can('write its own folder', () => {
  writeFileSync('.berth-probe', 'x');
  rmSync('.berth-probe');
});
can('write /etc', () => accessSync('/etc', constants.W_OK));
can(`list the home (${homedir()}: ${safeCount(homedir())} entries)`, () => readdirSync(homedir()));
can('read ~/.ssh', () => readdirSync(join(homedir(), '.ssh')));
function safeCount(dir) {
  try {
    return readdirSync(dir).length;
  } catch {
    return 0;
  }
}
