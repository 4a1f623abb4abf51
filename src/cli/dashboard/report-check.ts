/**
 * Whether a run folder's report.json is a report `timetracer replay` wrote: the dashboard reads
 * it from disk, where anything may have been put, and lists, renders and looks files up in it
 * only once the parts it uses have the shape it expects.
 */
import type { Difference } from '../compare.js';
import type { ReplayReport, ResultReport } from '../replay-report.js';

type Fields = Record<string, unknown>;

function isFields(value: unknown): value is Fields {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isStrings(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === 'string');
}

function isDifference(value: unknown): value is Difference {
  if (!isFields(value)) return false;
  switch (value.kind) {
    case 'call.added':
    case 'call.removed':
      return typeof value.call === 'string' && typeof value.eid === 'number';
    case 'call.changed':
      return (
        typeof value.call === 'string' &&
        typeof value.eid_a === 'number' &&
        typeof value.eid_b === 'number' &&
        Array.isArray(value.changes) &&
        value.changes.every((change) => isFields(change) && typeof change.path === 'string')
      );
    case 'request':
    case 'status':
    case 'header':
    case 'body':
    case 'error':
      return typeof value.path === 'string';
    default:
      return false;
  }
}

function isDifferences(value: unknown): value is Difference[] {
  return Array.isArray(value) && value.every(isDifference);
}

function isMiss(value: unknown): boolean {
  return isFields(value) && typeof value.eid === 'number' && typeof value.call === 'string' && typeof value.reason === 'string';
}

function isResult(value: unknown): value is ResultReport {
  return (
    isFields(value) &&
    typeof value.file === 'string' &&
    (typeof value.replayed === 'string' || value.replayed === null) &&
    typeof value.request === 'string' &&
    typeof value.method === 'string' &&
    typeof value.passed === 'boolean' &&
    isFields(value.status) &&
    isFields(value.duration_ms) &&
    isDifferences(value.failures) &&
    isDifferences(value.allowed) &&
    Array.isArray(value.misses) &&
    value.misses.every(isMiss)
  );
}

function isUpdate(value: unknown): boolean {
  return isFields(value) && typeof value.old === 'string' && typeof value.file === 'string' && isDifferences(value.changes);
}

export function isReplayReport(value: unknown): value is ReplayReport {
  return (
    isFields(value) &&
    typeof value.started_at === 'string' &&
    typeof value.finished_at === 'string' &&
    isStrings(value.command) &&
    isStrings(value.ignored) &&
    typeof value.passed === 'number' &&
    typeof value.failed === 'number' &&
    (value.updated === undefined || (Array.isArray(value.updated) && value.updated.every(isUpdate))) &&
    Array.isArray(value.results) &&
    value.results.every(isResult)
  );
}
