/** `timetracer serve`: the dashboard, a page to browse a directory of cassettes. */
import { CliError, defineCommand, integerOption } from '../command.js';
import { DashboardServer } from '../dashboard/server.js';
import { openCatalog } from './list.js';

export default defineCommand({
  name: 'serve',
  followsDir: true,
  summary: 'browse recorded requests in a web dashboard',
  usage: `[--dir D] [--port 3000] [--host 127.0.0.1]

Options:
  --dir D        the cassette directory (default: TIMETRACER_DIR or ./cassettes)
  --port N       the port to listen on (default 3000; 0 picks a free one)
  --host H       the address to listen on (default 127.0.0.1, this machine only; cassettes
                 hold real request data, so think before making it 0.0.0.0)

The page lists every cassette with search and filters, and shows each one's request, response,
dependency calls on a timeline and the command that replays it. Cassettes recorded while it runs
appear without a restart.

Routes: the requests grouped by method and route template (else path), with their count, error
rate, p50 and p95 durations, calls per request, and requests and errors over time.

Replay runs: each run of \`timetracer replay D -- <command>\` kept in D/.timetracer-runs, with
how many requests passed and failed; a run shows its failures first, what differed and why a
call missed, and opens both the recorded and the replayed cassette.

Stop it with Ctrl-C.`,
  options: {
    dir: { type: 'string' },
    port: { type: 'string' },
    host: { type: 'string' },
  },
  async run(values) {
    const port = integerOption(values.port, 'port', { min: 0, fallback: 3000 });
    if (port > 65535) throw new CliError(`--port must be at most 65535, not ${port}`);
    const host = (values.host as string | undefined) ?? '127.0.0.1';
    const catalog = openCatalog(values.dir as string | undefined);
    const dashboard = new DashboardServer({ catalog, cwd: process.cwd() });
    const url = await dashboard.listen(port, host);
    process.stdout.write(`timetracer dashboard: ${url} (${catalog.size} cassettes in ${catalog.dir})\n`);
    if (catalog.unreadable.size) {
      process.stderr.write(
        `timetracer serve: skipped ${catalog.unreadable.size} file(s) that are not readable cassettes; timetracer list --dir ${catalog.dir} names them\n`,
      );
    }
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    await dashboard.close();
    return 0;
  },
});
