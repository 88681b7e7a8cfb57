import { repairBootServices } from '../src/bot/repair/boot-services.js';
import { repairLiteLLM } from '../src/bot/repair/litellm.js';
import { defineCommand } from '../src/bot/define-command.js';
import { REPAIR_KINDS } from '../src/contracts/repair-boot-services.js';
import { litellmRepairPayload } from '../src/contracts/repair-litellm.js';
import { usageError } from '../src/core/errors.js';

export default defineCommand({
  name: 'repair',
  description: 'Repair the lab: a dry run first, then apply after confirmation.',
  capability: 'admin',
  mutating: true,
  options: {
    kind: { type: 'string', required: true, description: 'which repair', choices: REPAIR_KINDS },
    host: { type: 'string', description: 'only this host (boot-services)', autocomplete: 'host' },
    model: { type: 'string', description: 'rename: the model_name to rename', maxLength: 200 },
    to: { type: 'string', description: 'rename: the new [type]-[name]-[engine] name', maxLength: 128 },
    audit: { type: 'string', description: 'undo: the audit id of the repair (see /log)', maxLength: 64 },
    overwrite: { type: 'boolean', description: 'model-limits: replace values that are set' },
  },
  async execute({ ctx, options, ...call }) {
    if (options.kind === 'boot-services') return await repairBootServices(ctx, ctx.inventory.selectHosts(options.host), call);
    const parsed = litellmRepairPayload.safeParse({ kind: options.kind, ...pick(options, ['model', 'to', 'audit', 'overwrite']) });
    if (!parsed.success) throw usageError(`/repair kind:${options.kind}: ${parsed.error.issues.map((i) => `${i.path.join('.') || 'options'}: ${i.message}`).join('; ')}`, 'rename needs model: and to:, undo needs audit: (the id /log shows).');
    return await repairLiteLLM(ctx, parsed.data, call);
  },
});

function pick(options: Record<string, unknown>, keys: string[]): Record<string, unknown> {
  return Object.fromEntries(keys.filter((k) => options[k] !== undefined).map((k) => [k, options[k]]));
}
