import type { Role } from '../config/schema.js';
import type { Capability } from './permissions.js';
import type { Reply } from '../core/reply.js';

/** Where an option's autocomplete choices come from (Discord) and how its value is checked. */
export type OptionSource = 'model' | 'host' | 'job' | 'alert';

interface OptionBase {
  description: string;
  required?: boolean;
}
export interface StringOption extends OptionBase {
  type: 'string';
  autocomplete?: OptionSource;
  choices?: readonly string[];
  maxLength?: number;
}
export interface IntegerOption extends OptionBase {
  type: 'integer';
  min?: number;
  max?: number;
}
export interface BooleanOption extends OptionBase {
  type: 'boolean';
}
export type OptionDef = StringOption | IntegerOption | BooleanOption;
export type OptionDefs = Record<string, OptionDef>;

type ValueOf<D extends OptionDef> = D extends StringOption
  ? D['choices'] extends readonly (infer C)[]
    ? C
    : string
  : D extends IntegerOption
    ? number
    : boolean;

type RequiredKeys<O extends OptionDefs> = { [K in keyof O]: O[K]['required'] extends true ? K : never }[keyof O];
type OptionalKeys<O extends OptionDefs> = Exclude<keyof O, RequiredKeys<O>>;

export type OptionValues<O extends OptionDefs> = { [K in RequiredKeys<O>]: ValueOf<O[K]> } & { [K in OptionalKeys<O>]?: ValueOf<O[K]> };

export type ChannelKind = 'shell' | 'exec' | 'discord';

/** Who is asking, as the adapter established it. */
export interface Caller {
  id: string;
  name: string;
  role: Role | null;
  adapter: ChannelKind;
  /** Discord channel id, or "local" for the shell and exec */
  channelId: string;
  /** a direct message rather than a guild channel */
  inDM: boolean;
}

export interface ConfirmRequest {
  /** what will happen, one line */
  title: string;
  /** what it frees, what breaks, how to undo */
  detail?: string;
  confirmLabel: string;
  danger?: boolean;
  /** whose confirmation rules apply (`discord.twoPersonConfirm`) besides the command's own: a stop reached through /start is a stop */
  rule?: string;
}

/** The chat port as a command sees it: its caller, its options, and the three things it may do. */
export interface CommandCall<V, Ctx = unknown> {
  ctx: Ctx;
  caller: Caller;
  options: V;
  /** edit the reply with a progress line (the adapter throttles) */
  progress(text: string): void;
  /** ask the caller to confirm; false when declined or expired */
  confirm(request: ConfirmRequest): Promise<boolean>;
  signal: AbortSignal;
}

export interface CommandDef<O extends OptionDefs = OptionDefs, Ctx = unknown> {
  name: string;
  description: string;
  /** the least capability that may run it */
  capability: Capability;
  /** changes something: refused in DMs and outside the configured command channels */
  mutating?: boolean;
  options: O;
  execute(call: CommandCall<OptionValues<O>, Ctx>): Promise<Reply>;
}

// The registry holds commands of every option shape; their handlers are called through `dispatch`.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyCommand = CommandDef<any, any>;
