// Prints whether anything was patched, to show that the agent in mode off loads nothing.
import http from 'node:http';

const ORIGINAL = Symbol.for('timetracer.original');
const patched = (fn) => ORIGINAL in fn;
console.log(
  `patched http.request=${patched(http.request)} http.Server.emit=${patched(http.Server.prototype.emit)} fetch=${patched(globalThis.fetch)}`,
);
