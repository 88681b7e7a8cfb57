import type { Requester } from '../contracts/define.js';
import type { Caller } from './command.js';

export function requesterOf(caller: Caller): Requester {
  return { id: caller.id, name: caller.name, role: caller.role, adapter: caller.adapter, channel: caller.channelId };
}
