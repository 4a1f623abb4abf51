/** Every `timetracer` command, in the order --help lists them. */
import type { Command } from '../command.js';
import diff from './diff.js';
import exportCassette from './export.js';
import list from './list.js';
import prune from './prune.js';
import replay from './replay.js';
import serve from './serve.js';
import show from './show.js';
import sync from './sync.js';

export const commands: readonly Command[] = [list, show, diff, exportCassette, replay, prune, serve, sync];
