import { crashSuite, randomKillPoints } from './crash-suite.js';

// A new draw every run (the seed is in the suite's name, to run a failing draw again: BERTH_CRASH_SEED).
const seed = Number(process.env['BERTH_CRASH_SEED'] ?? Math.floor(Math.random() * 2 ** 31));
crashSuite('docker', { concurrency: 4, points: randomKillPoints(seed, 6), label: `--concurrency 4, random kill points, seed ${String(seed)}` });
