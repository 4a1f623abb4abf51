import { CliError, defineCommand } from '../command.js';

export default defineCommand({
  name: 'prune',
  summary: '(being written)',
  usage: '',
  options: {},
  run() {
    throw new CliError('not available yet');
  },
});
