import { z } from 'zod';
import type { Redis } from '../../redis/connection.js';
import type { Action } from '../../core/reply.js';
import { newStateId } from './custom-id.js';

const storedAction = z.object({
  command: z.string(),
  options: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])),
  label: z.string(),
});

/**
 * The follow-up actions behind `<command>:run:<id>` buttons, in Redis under the config's prefix
 * with a TTL: a button works after a restart, for as long as its state is kept.
 */
export class ActionStore {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly ttlMs = 7 * 24 * 3600_000,
  ) {}

  private key(id: string): string {
    return `${this.prefix}:discord:action:${id}`;
  }

  async save(action: Action): Promise<string> {
    const id = newStateId();
    await this.redis.set(this.key(id), JSON.stringify({ command: action.command, options: action.options, label: action.label }), 'PX', this.ttlMs);
    return id;
  }

  async get(id: string): Promise<Pick<Action, 'command' | 'options' | 'label'> | null> {
    const raw = await this.redis.get(this.key(id));
    if (!raw) return null;
    try {
      const parsed = storedAction.safeParse(JSON.parse(raw));
      return parsed.success ? parsed.data : null;
    } catch {
      return null;
    }
  }
}
