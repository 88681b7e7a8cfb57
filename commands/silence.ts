import { silence } from '../src/bot/alerts/manage.js';
import { defineCommand } from '../src/bot/define-command.js';

export default defineCommand({
  name: 'silence',
  description: 'Silence an alert for a while (nothing is posted about it), or lift a silence with for:off.',
  capability: 'operator',
  mutating: true,
  options: {
    key: { type: 'string', required: true, description: 'the alert (host:subject:kind), e.g. gpu-1:gpu0:vram-high', autocomplete: 'alert', maxLength: 200 },
    for: { type: 'string', required: true, description: 'how long: 30m, 1h, 8h, 2d; or off', maxLength: 20 },
  },
  async execute({ ctx, caller, options }) {
    return await silence(ctx, caller, options.key, options.for);
  },
});
