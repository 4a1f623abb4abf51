// The recorded cassettes as tests: one per recorded request, replayed against app.js offline.
// In a project of your own: npm install --save-dev timetracer, then `node --test`.
import { fileURLToPath } from 'node:url';
import { replayCassettes } from 'timetracer/test';

const here = (file) => fileURLToPath(new URL(file, import.meta.url));

replayCassettes(here('./cassettes'), { start: [process.execPath, here('./app.js')] });
