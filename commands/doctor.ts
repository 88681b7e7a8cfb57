import { runDoctorCommand } from '../src/bot/proxy/doctor.js';
import { defineCommand } from '../src/bot/define-command.js';

export default defineCommand({
  name: 'doctor',
  description: 'Read-only checks of the LiteLLM proxy, its database, config.yaml and the hosts, each with its repair.',
  capability: 'viewer',
  options: {
    host: { type: 'string', description: 'only this host', autocomplete: 'host' },
  },
  async execute({ ctx, caller, options, progress }) {
    return await runDoctorCommand(ctx, caller, options.host, progress);
  },
});
