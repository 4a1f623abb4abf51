// test/apps/undici-app.mjs on undici 6 (this workspace's own node_modules/undici).
import undici from 'undici';
import { start } from '../undici-app.mjs';

start(undici);
