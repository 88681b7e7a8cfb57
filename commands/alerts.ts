import { alertsReply, listAlerts } from '../src/bot/alerts/list.js';
import { defineCommand } from '../src/bot/define-command.js';

export default defineCommand({
  name: 'alerts',
  description: 'Firing, pending, acknowledged and silenced alerts, with their age.',
  capability: 'viewer',
  options: {
    host: { type: 'string', description: 'only this host', autocomplete: 'host' },
  },
  async execute({ ctx, options }) {
    return alertsReply(await listAlerts(ctx, options.host));
  },
});
