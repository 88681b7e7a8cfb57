import { repairBootServices } from '../src/bot/repair/boot-services.js';
import { defineCommand } from '../src/bot/define-command.js';
import { REPAIR_KINDS } from '../src/contracts/repair-boot-services.js';

export default defineCommand({
  name: 'repair',
  description: 'Repair the lab: a dry run first, then apply after confirmation.',
  capability: 'admin',
  mutating: true,
  options: {
    kind: { type: 'string', required: true, description: 'which repair', choices: REPAIR_KINDS },
    host: { type: 'string', description: 'only this host', autocomplete: 'host' },
  },
  async execute({ ctx, options, ...call }) {
    return await repairBootServices(ctx, ctx.inventory.selectHosts(options.host), call);
  },
});
