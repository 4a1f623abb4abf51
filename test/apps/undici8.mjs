// test/apps/undici-app.mjs on undici 8 (the project's devDependency; it needs Node 22.19 or later).
import undici from 'undici';
import { start } from './undici-app.mjs';

start(undici);
