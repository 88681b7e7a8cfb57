import { acknowledge } from '../src/bot/alerts/manage.js';
import { defineCommand } from '../src/bot/define-command.js';

export default defineCommand({
  name: 'ack',
  description: 'Acknowledge a firing alert: its message names you, its repeats stop; the resolve is still posted.',
  capability: 'operator',
  mutating: true,
  options: {
    key: { type: 'string', required: true, description: 'the alert (host:subject:kind), e.g. gpu-1:gpu0:vram-high', autocomplete: 'alert', maxLength: 200 },
  },
  async execute({ ctx, caller, options }) {
    return await acknowledge(ctx, caller, options.key);
  },
});
