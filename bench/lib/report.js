// bench/run.js's output: the table, the targets and whether this run met them, and what the
// figures rest on (load generation, the machine, the commit).

/** The throughput modes, in the order the tables show them (bench/run.js says what each is). */
export const MODES = ['none', 'off', 'record', 'record-segments', 'record-nodet', 'sampled', 'replay', 'tusk'];
const TARGETS = {
  recordThroughput: 0.85,
  ioBoundRecordThroughput: 0.98,
  recordP99Ms: 2,
  offWithin: 0.01,
  startupMs: 50,
  rssGrowth: 0.1,
  scaleStartupMs: 1000,
  scaleRssMb: 50,
};

const percent = (ratio) => `${(ratio * 100).toFixed(1)}%`;
const signed = (value, digits) => `${value >= 0 ? '+' : ''}${value.toFixed(digits)}`;

/** Columns padded to their widest cell; text columns left-aligned, numbers right-aligned. */
function table(rows) {
  const widths = rows[0].map((_, column) => Math.max(...rows.map((row) => row[column].length)));
  const numeric = rows[0].map((_, column) => rows.slice(1).every((row) => /^[-+±\d.,%×]*$/.test(row[column])));
  return rows.map((row) =>
    row
      .map((cell, column) => (numeric[column] ? cell.padStart(widths[column]) : cell.padEnd(widths[column])))
      .join('  ')
      .trimEnd(),
  );
}

const measuredScenarios = (result) => result.scenarios.filter((scenario) => !scenario.skipped);

/** Every target of the issue that this run measured: what it says, the figure, and whether it was met. */
export function evaluateTargets(result) {
  const targets = [];
  const add = (target, measured, met) => targets.push({ target, measured, met });
  const byId = Object.fromEntries(result.scenarios.map((scenario) => [scenario.id, scenario]));
  for (const id of ['a', 'b']) {
    const scenario = byId[id];
    if (!scenario) continue;
    if (scenario.skipped) {
      add(`(${id}) record targets`, `not measured: ${scenario.skipped}`, null);
      continue;
    }
    const { none } = scenario.modes;
    for (const mode of ['record', 'record-segments']) {
      const record = scenario.modes[mode];
      add(
        `(${id}) ${mode} req/s ≥ ${percent(TARGETS.recordThroughput)} of none`,
        percent(record.ratio.req_s),
        record.ratio.req_s >= TARGETS.recordThroughput,
      );
      const addedP99 = record.p99_ms - none.p99_ms;
      add(`(${id}) ${mode} p99 ≤ none + ${TARGETS.recordP99Ms} ms`, `${signed(addedP99, 2)} ms`, addedP99 <= TARGETS.recordP99Ms);
    }
  }
  for (const { id, modes } of measuredScenarios(result)) {
    add(
      `(${id}) off req/s within ${percent(TARGETS.offWithin)} of none`,
      `${percent(modes.off.ratio.req_s)} (the rounds of none alone spread ±${percent(modes.none.req_s_spread)})`,
      Math.abs(modes.off.ratio.req_s - 1) <= TARGETS.offWithin,
    );
  }
  if (byId.f?.modes) {
    const ratio = byId.f.modes.record.ratio.req_s;
    add(
      `(f) I/O-bound record req/s ≥ ${percent(TARGETS.ioBoundRecordThroughput)} of none`,
      percent(ratio),
      ratio >= TARGETS.ioBoundRecordThroughput,
    );
  }
  for (const { id, modes } of measuredScenarios(result)) {
    add(`(${id}) replay faster than none (live)`, `${modes.replay.ratio.req_s.toFixed(2)}× none's req/s`, modes.replay.ratio.req_s > 1);
  }
  if (result.startup) {
    for (const mode of ['off', 'record', 'replay']) {
      const { added_ms: added } = result.startup.modes[mode];
      add(`(d) ${mode} start-up ≤ none + ${TARGETS.startupMs} ms`, `${signed(added, 0)} ms`, added <= TARGETS.startupMs);
    }
  }
  if (result.memory) {
    const { growth, answered, cassettes } = result.memory;
    add(`(e) RSS flat once warm (end ≤ warm + ${percent(TARGETS.rssGrowth)})`, `${signed(growth * 100, 1)}%`, growth <= TARGETS.rssGrowth);
    add('(e) no cassette lost', cassetteCount(cassettes, answered), cassettes.written === answered);
  }
  if (result.scale) {
    const { cassettes, alone, crowded } = result.scale;
    const [ms, mb] = [crowded.ms - alone.ms, crowded.rss_mb - alone.rss_mb];
    add(
      `(g) replay with ${cassettes} cassettes: first answer ≤ alone + ${TARGETS.scaleStartupMs} ms`,
      `${signed(ms, 0)} ms`,
      ms <= TARGETS.scaleStartupMs,
    );
    add(`(g) replay with ${cassettes} cassettes: RSS ≤ alone + ${TARGETS.scaleRssMb} MB`, `${signed(mb, 1)} MB`, mb <= TARGETS.scaleRssMb);
  }
  return targets;
}

function cassetteCount({ written, dropped, unaccounted }, answered) {
  const lost = [dropped && `${dropped} dropped (the agent's warning)`, unaccounted && `${unaccounted} missing with no warning`].filter(
    Boolean,
  );
  return `${written} written for ${answered} requests${lost.length ? `: ${lost.join(', ')}` : ''}`;
}

function mainTable(result) {
  const rows = [
    ['scenario', 'mode', 'req/s', '±', '×none', 'p50 ms', '×none', 'p99 ms', '×none', 'max RSS MB', '×none', 'app cores', 'app µs/req'],
  ];
  for (const { id, modes } of measuredScenarios(result)) {
    for (const mode of MODES) {
      const f = modes[mode];
      rows.push([
        `(${id})`,
        mode,
        f.req_s.toFixed(0),
        `±${(f.req_s_spread * 100).toFixed(0)}%`,
        f.ratio.req_s.toFixed(2),
        f.p50_ms.toFixed(2),
        f.ratio.p50_ms.toFixed(2),
        f.p99_ms.toFixed(2),
        f.ratio.p99_ms.toFixed(2),
        f.max_rss_mb.toFixed(1),
        f.ratio.max_rss_mb.toFixed(2),
        f.cores.app.toFixed(2),
        ((f.cores.app / f.req_s) * 1e6).toFixed(0),
      ]);
    }
  }
  return table(rows);
}

function coresTable(result) {
  const rows = [['scenario', 'mode', 'app', 'upstream', 'postgres', 'autocannon', 'rest', 'total']];
  for (const { id, modes } of measuredScenarios(result)) {
    for (const mode of MODES) {
      const c = modes[mode].cores;
      const total = c.app + c.upstream + c.postgres + c.load_generator + c.rest;
      rows.push([`(${id})`, mode, ...[c.app, c.upstream, c.postgres, c.load_generator, c.rest, total].map((n) => n.toFixed(2))]);
    }
  }
  return table(rows);
}

function startupLines({ request, modes }, starts) {
  const rows = [
    ['mode', 'ms', 'vs none'],
    ...Object.keys(modes).map((mode) => [mode, modes[mode].ms.toFixed(0), mode === 'none' ? '' : `${signed(modes[mode].added_ms, 0)} ms`]),
  ];
  return [
    `(d) start-up: from spawn to the first answered ${request} of the demo app, median of ${starts} starts per mode`,
    ...table(rows).map((line) => `  ${line}`),
  ];
}

function scaleLines({ cassettes, request, alone, crowded }, starts) {
  const row = (name, figures) => [name, figures.ms.toFixed(0), figures.rss_mb.toFixed(1), figures.peak_rss_mb.toFixed(1)];
  return [
    `(g) replay at scale: the demo app replaying ${request}, spawn to first answer and RSS then, median of ${starts} starts`,
    ...table([
      ['cassettes in the directory', 'ms', 'RSS MB', 'peak RSS MB'],
      row('its own (1)', alone),
      row(`its own + ${cassettes}`, crowded),
    ]).map((line) => `  ${line}`),
  ];
}

function memoryLines(memory, connections) {
  const { rss_mb: rss, cassettes } = memory;
  const curve = [rss.warm, ...Object.values(rss.by_share), rss.end].map((mb) => mb.toFixed(0)).join(' / ');
  return [
    `(e) memory: ${memory.answered} requests recorded (demo app, GET /user/octocat, ${connections} connections) in ${memory.seconds.toFixed(0)} s, ${memory.req_s.toFixed(0)} req/s`,
    `  RSS once warm (10% of the requests answered) ${rss.warm.toFixed(1)} MB, at the end ${rss.end.toFixed(1)} ` +
      `MB (${signed(memory.growth * 100, 1)}%), highest ${rss.max.toFixed(1)} MB; sampled every second`,
    `  RSS at 10 / 25 / 50 / 75 / 100% of the requests: ${curve} MB`,
    `  cassettes: ${cassetteCount(cassettes, memory.answered)}; ${cassettes.written_under_load} were on disk when ` +
      `the load stopped, the rest written as the app exited (${memory.exit_seconds.toFixed(1)} s from SIGTERM to exit)`,
  ];
}

function noteLines(result) {
  const { settings } = result;
  const notes = [
    'record and replay run with TIMETRACER_LOG=quiet: no per-request log lines (warnings still show), so writing to stderr does not dominate.',
    'replay serves cassettes recorded in a preparatory run (each distinct request once), with the upstream stopped and PostgreSQL and Redis given ' +
      'addresses where nothing listens. Before every run, in every mode, each distinct request is sent once and its response compared with the recorded one.',
    "req/s: 2xx responses per second of the timed run. p50/p99: autocannon's response times of every 2xx response of the timed run (its own histogram keeps whole milliseconds, so the " +
      "percentiles are taken here). max RSS: the app's high-water mark (VmHWM). app cores: CPU time of the app (all its threads) per second; app µs/req: that CPU time per answered request.",
    'sampled: record with TIMETRACER_SAMPLE_RATE=0.1 (one request in ten recorded), the way a busy production service would run it.',
    'tusk: the peer, the Tusk Drift Node SDK (@use-tusk/drift-node-sdk) recording every request (samplingRate 1) to local JSONL traces ' +
      '(export_spans: false), loaded before the app by bench/peer/tusk-drift.cjs; it instruments pg and fetch, and ioredis 4 and 5 only, ' +
      'so in (b) it leaves the ioredis 6 commands unrecorded.',
  ];
  const scenarios = measuredScenarios(result);
  if (scenarios.some(({ id }) => id === 'b')) {
    notes.push(
      '(b) makes 2 pg queries, 1 fetch and 3 ioredis commands per request, against the real PostgreSQL and Redis; in replay PostgreSQL and Redis are given addresses where nothing listens.',
    );
  }
  const recorded = scenarios.map(
    ({
      id,
      modes: {
        record: { cassettes },
      },
    }) => {
      const count = cassetteCount(
        { ...cassettes, unaccounted: Math.max(0, cassettes.answered - cassettes.written - cassettes.dropped) },
        cassettes.answered,
      );
      return `(${id}) ${count}, of which ${cassettes.written_under_load} were on disk when the load stopped`;
    },
  );
  if (recorded.length) {
    notes.push(
      `record runs, cassettes over all rounds (requests cut off when the load stops may add a few; what is still ` +
        `queued when the load stops is written as the app exits, outside the timed run): ${recorded.join('; ')}.`,
    );
  }
  const failures = scenarios.flatMap(({ id, modes }) =>
    MODES.filter((mode) => modes[mode].failed).map((mode) => `(${id}) ${mode}: ${modes[mode].failed}`),
  );
  if (result.memory?.failed) failures.push(`(e): ${result.memory.failed}`);
  if (failures.length)
    notes.push(`FAILED responses or connection errors (the figures of these runs are not valid): ${failures.join(', ')}`);
  else if (scenarios.length || result.memory) notes.push('every response was a 2xx; no connection errors.');
  const body = scenarios.find(({ id }) => id === 'c');
  if (body) notes.push(`(c) response body: ${body.response_bytes} bytes.`);
  notes.push(
    `settings: ${settings.rounds} rounds per mode, modes in a rotating order, ${settings.seconds} s timed after ` +
      `${settings.warmupSeconds} s of warm-up, a fresh app process per run; figures are medians of the rounds, ratios are mode ÷ none.`,
  );
  return notes.map((note) => `- ${note}`);
}

function loadLines(result) {
  const { connections } = result.settings;
  const { quiet_machine_cores: quiet, max_repeats: maxRepeats } = result.settings;
  const busiest = Math.max(
    0,
    ...measuredScenarios(result).flatMap(({ modes }) => MODES.flatMap((mode) => modes[mode].rounds.map((run) => run.cores.rest))),
  );
  const repeats = measuredScenarios(result).reduce((n, { modes }) => n + MODES.reduce((m, mode) => m + modes[mode].repeats, 0), 0);
  return [
    `load generation: autocannon in the bench process on one thread (no worker threads: on ${result.machine.cores} cores they would ` +
      `take their share from the app), ${connections} keep-alive connections with one request in flight each (no pipelining). The ` +
      `upstream runs in a process of its own. Cores used during the timed runs (medians; postgres = the server processes serving the ` +
      `app's connections; rest = every other process on the machine, kernel threads writing record's cassettes to disk included):`,
    ...coresTable(result).map((line) => `  ${line}`),
    `  An app's JavaScript runs on one thread: near 1 app core, with the total below ${result.machine.cores}, the app is the bottleneck, not the load generator.`,
    `  A run during which other processes used more than ${quiet} cores is run again (up to ${maxRepeats} times); ${repeats} were.`,
    busiest > quiet
      ? `  WARNING: other processes still used up to ${busiest.toFixed(2)} cores during a timed run: these figures are disturbed by other work on the machine.`
      : `  Other processes used at most ${busiest.toFixed(2)} cores during any timed run kept.`,
  ];
}

function storeLines(runs) {
  return [
    '(h) stores: the demo app recorded at full speed, RSS sampled every second; with S3 unreachable every cassette waits in the spool on disk',
    ...table([
      ['store', 'requests', 'RSS after 1 s', 'RSS at most', 'RSS at the end', 'cassettes on disk', 'dropped'],
      ...runs.map((run) => [
        run.store,
        String(run.answered),
        `${run.rss_mb.first.toFixed(0)} MB`,
        `${run.rss_mb.max.toFixed(0)} MB`,
        `${run.rss_mb.end.toFixed(0)} MB`,
        String(run.cassettes.on_disk),
        String(run.cassettes.dropped),
      ]),
    ]).map((line) => `  ${line}`),
  ];
}

export function printReport(result) {
  const { settings, machine, measured } = result;
  const lines = [
    '',
    `timetracer bench${settings.quick ? ' --quick (a smoke check: short runs, few rounds)' : ''}: medians of ${settings.rounds} rounds, ratios to no agent (none)`,
  ];
  for (const scenario of result.scenarios)
    lines.push(`  (${scenario.id}) ${scenario.title}${scenario.skipped ? ` — SKIPPED: ${scenario.skipped}` : ''}`);
  if (measuredScenarios(result).length) lines.push('', ...mainTable(result));
  if (result.startup) lines.push('', ...startupLines(result.startup, settings.starts));
  if (result.memory) lines.push('', ...memoryLines(result.memory, settings.connections));
  if (result.scale) lines.push('', ...scaleLines(result.scale, settings.starts));
  if (result.stores) lines.push('', ...storeLines(result.stores));
  if (result.targets.length) {
    lines.push('', 'targets, on this run:');
    const rows = result.targets.map(({ target, measured: figure, met }) => [met === null ? 'n/a' : met ? 'met' : 'MISSED', target, figure]);
    lines.push(...table(rows).map((line) => `  ${line}`));
  }
  if (measuredScenarios(result).length) lines.push('', ...loadLines(result));
  lines.push('', 'notes:', ...noteLines(result));
  const changes = measured.uncommitted.length ? `, with uncommitted changes to ${measured.uncommitted.join(', ')}` : '';
  lines.push(
    '',
    `machine: ${machine.cpu}, ${machine.cores} cores, node ${machine.node}, ${machine.os}; load average at start ${machine.load_average_at_start.toFixed(2)}`,
  );
  lines.push(`measured: commit ${measured.commit}${changes}`);
  process.stdout.write(`${lines.join('\n')}\n`);
}
