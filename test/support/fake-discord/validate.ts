/**
 * Discord's limits on what a bot sends, checked the way Discord checks them: every violation of a
 * request is collected into one 400 "Invalid Form Body" (code 50035) whose `errors` tree names the
 * path of each bad field, e.g. `{ embeds: { 0: { description: { _errors: [ … ] } } } }`.
 */
import type { Wire } from './state.js';

/** An error answer: the status and Discord's JSON error body. */
export class ApiError {
  constructor(
    readonly status: number,
    readonly body: Wire,
    readonly headers?: Record<string, string>,
  ) {}
}

export function apiError(status: number, code: number, message: string): ApiError {
  return new ApiError(status, { message, code });
}

export const Errors = {
  unauthorized: (): ApiError => apiError(401, 0, '401: Unauthorized'),
  notFound: (): ApiError => apiError(404, 0, '404: Not Found'),
  methodNotAllowed: (): ApiError => apiError(405, 0, '405: Method Not Allowed'),
  unknownChannel: (): ApiError => apiError(404, 10003, 'Unknown Channel'),
  unknownGuild: (): ApiError => apiError(404, 10004, 'Unknown Guild'),
  unknownMessage: (): ApiError => apiError(404, 10008, 'Unknown Message'),
  unknownUser: (): ApiError => apiError(404, 10013, 'Unknown User'),
  unknownWebhook: (): ApiError => apiError(404, 10015, 'Unknown Webhook'),
  unknownCommand: (): ApiError => apiError(404, 10063, 'Unknown application command'),
  unknownInteraction: (): ApiError => apiError(404, 10062, 'Unknown interaction'),
  missingAccess: (): ApiError => apiError(403, 50001, 'Missing Access'),
  notAuthor: (): ApiError => apiError(403, 50005, 'Cannot edit a message authored by another user'),
  emptyMessage: (): ApiError => apiError(400, 50006, 'Cannot send an empty message'),
  invalidWebhookToken: (): ApiError => apiError(401, 50027, 'Invalid Webhook Token'),
  alreadyAcknowledged: (): ApiError => apiError(400, 40060, 'Interaction has already been acknowledged.'),
  invalidJson: (): ApiError => apiError(400, 50109, 'The request body contains invalid JSON.'),
} as const;

/** Collects field errors under their paths and turns them into one 50035 answer. */
export class FormErrors {
  private readonly tree: Wire = {};
  private count = 0;

  add(path: string, code: string, message: string): void {
    let node = this.tree;
    for (const key of path.split('.').filter(Boolean)) node = node[key] ??= {};
    (node._errors ??= []).push({ code, message });
    this.count++;
  }

  maxLength(path: string, value: unknown, max: number): void {
    const length = typeof value === 'string' || Array.isArray(value) ? value.length : 0;
    if (length > max) this.add(path, 'BASE_TYPE_MAX_LENGTH', `Must be ${max} or fewer in length.`);
  }

  get empty(): boolean {
    return this.count === 0;
  }

  result(): ApiError | null {
    if (this.count === 0) return null;
    return new ApiError(400, { message: 'Invalid Form Body', code: 50035, errors: this.tree });
  }
}

const join = (prefix: string, key: string | number) => (prefix ? `${prefix}.${key}` : String(key));

/** The characters of an embed that count towards Discord's 6000-character total. */
function embedSize(embed: Wire): number {
  const len = (v: unknown) => (typeof v === 'string' ? v.length : 0);
  let size = len(embed?.title) + len(embed?.description) + len(embed?.footer?.text) + len(embed?.author?.name);
  for (const field of Array.isArray(embed?.fields) ? embed.fields : []) size += len(field?.name) + len(field?.value);
  return size;
}

/** Limits of the components a message or modal carries (custom_id, labels, rows). */
export function checkComponents(errors: FormErrors, components: Wire, prefix: string, componentsV2: boolean): void {
  if (!Array.isArray(components)) return;
  if (!componentsV2) errors.maxLength(prefix, components, 5);
  const walk = (component: Wire, path: string) => {
    if (!component || typeof component !== 'object') return;
    if ('custom_id' in component) errors.maxLength(join(path, 'custom_id'), component.custom_id, 100);
    if (component.type === 2 && 'label' in component) errors.maxLength(join(path, 'label'), component.label, 80);
    if (component.type === 3 && Array.isArray(component.options)) errors.maxLength(join(path, 'options'), component.options, 25);
    if (component.type === 1 && Array.isArray(component.components)) errors.maxLength(join(path, 'components'), component.components, 5);
    if (Array.isArray(component.components)) component.components.forEach((child: Wire, i: number) => walk(child, join(join(path, 'components'), i)));
    if (component.accessory) walk(component.accessory, join(path, 'accessory'));
    if (component.component) walk(component.component, join(path, 'component'));
  };
  components.forEach((component: Wire, i: number) => walk(component, join(prefix, i)));
}

export interface MessageCheck {
  /** Where the message sits in the request body ('' for the body itself, 'data' for callbacks). */
  prefix: string;
  /** Creating a message (not editing): it must carry something. */
  create: boolean;
  /** Number of files uploaded with it. */
  fileCount: number;
}

/**
 * Checks a message payload against Discord's limits. Returns the 400 answer Discord would give, or
 * null when the payload is acceptable.
 */
export function checkMessage(payload: Wire, check: MessageCheck): ApiError | null {
  const errors = new FormErrors();
  const at = (key: string) => join(check.prefix, key);
  if (payload === null || typeof payload !== 'object') {
    errors.add(check.prefix || 'body', 'DICT_TYPE_CONVERT', 'Only dictionaries may be used in a DictType');
    return errors.result();
  }
  errors.maxLength(at('content'), payload.content, 2000);
  const embeds = Array.isArray(payload.embeds) ? payload.embeds : [];
  errors.maxLength(at('embeds'), embeds, 10);
  let total = 0;
  embeds.forEach((embed: Wire, i: number) => {
    const path = join(at('embeds'), i);
    errors.maxLength(join(path, 'title'), embed?.title, 256);
    errors.maxLength(join(path, 'description'), embed?.description, 4096);
    errors.maxLength(join(path, 'fields'), embed?.fields, 25);
    (Array.isArray(embed?.fields) ? embed.fields : []).forEach((field: Wire, f: number) => {
      errors.maxLength(join(join(join(path, 'fields'), f), 'name'), field?.name, 256);
      errors.maxLength(join(join(join(path, 'fields'), f), 'value'), field?.value, 1024);
    });
    errors.maxLength(join(path, 'footer.text'), embed?.footer?.text, 2048);
    errors.maxLength(join(path, 'author.name'), embed?.author?.name, 256);
    total += embedSize(embed);
  });
  if (total > 6000) errors.add(at('embeds'), 'MAX_EMBED_SIZE_EXCEEDED', 'Embed size exceeds maximum size of 6000');
  checkComponents(errors, payload.components, at('components'), Boolean((payload.flags ?? 0) & (1 << 15)));
  if (payload.nonce !== undefined && payload.nonce !== null) {
    if (typeof payload.nonce === 'string') errors.maxLength(at('nonce'), payload.nonce, 25);
    else if (!Number.isInteger(payload.nonce)) errors.add(at('nonce'), 'BASE_TYPE_BAD_INT', 'Value is not int.');
  }
  const failed = errors.result();
  if (failed) return failed;
  if (check.create) {
    const hasSomething =
      (typeof payload.content === 'string' && payload.content.length > 0) ||
      embeds.length > 0 ||
      (Array.isArray(payload.components) && payload.components.length > 0) ||
      (Array.isArray(payload.sticker_ids) && payload.sticker_ids.length > 0) ||
      Boolean(payload.poll) ||
      check.fileCount > 0;
    if (!hasSomething) return Errors.emptyMessage();
  }
  return null;
}

/** Autocomplete results: at most 25 choices, names of 1–100 characters. */
export function checkChoices(data: Wire): ApiError | null {
  const errors = new FormErrors();
  const choices = Array.isArray(data?.choices) ? data.choices : [];
  errors.maxLength('data.choices', choices, 25);
  choices.forEach((choice: Wire, i: number) => {
    errors.maxLength(`data.choices.${i}.name`, choice?.name, 100);
    if (typeof choice?.value === 'string') errors.maxLength(`data.choices.${i}.value`, choice.value, 100);
  });
  return errors.result();
}

/** A modal: custom_id ≤ 100, title ≤ 45, 1–5 top-level components. */
export function checkModal(data: Wire): ApiError | null {
  const errors = new FormErrors();
  errors.maxLength('data.custom_id', data?.custom_id, 100);
  errors.maxLength('data.title', data?.title, 45);
  if (!Array.isArray(data?.components) || data.components.length === 0) errors.add('data.components', 'BASE_TYPE_REQUIRED', 'This field is required');
  checkComponents(errors, data?.components, 'data.components', true);
  errors.maxLength('data.components', data?.components, 5);
  return errors.result();
}

const COMMAND_NAME = /^[-_'\p{L}\p{N}\p{sc=Deva}\p{sc=Thai}]{1,32}$/u;

function checkOptions(errors: FormErrors, options: Wire, path: string): void {
  if (!Array.isArray(options)) return;
  errors.maxLength(path, options, 25);
  let sawOptional = false;
  const names = new Set<string>();
  options.forEach((option: Wire, i: number) => {
    const at = join(path, i);
    const name = String(option?.name ?? '');
    if (!COMMAND_NAME.test(name) || name !== name.toLowerCase()) errors.add(join(at, 'name'), 'APPLICATION_COMMAND_INVALID_NAME', 'Command name is invalid');
    if (names.has(name)) errors.add(join(at, 'name'), 'APPLICATION_COMMAND_OPTIONS_NAME_ALREADY_EXISTS', 'Option name already exists');
    names.add(name);
    errors.maxLength(join(at, 'description'), option?.description, 100);
    if (option?.type === 1 || option?.type === 2) checkOptions(errors, option.options, join(at, 'options'));
    else if (option?.required) {
      if (sawOptional) errors.add(at, 'APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID', 'Required options must be placed before non-required options');
    } else sawOptional = true;
    errors.maxLength(join(at, 'choices'), option?.choices, 25);
    if (option?.autocomplete && Array.isArray(option?.choices) && option.choices.length > 0) {
      errors.add(join(at, 'autocomplete'), 'APPLICATION_COMMAND_AUTOCOMPLETE_INVALID', 'Autocomplete cannot be set if there are choices present');
    }
  });
}

/** A bulk overwrite of application commands: names, descriptions, option order and counts. */
export function checkCommands(commands: Wire, prefix = ''): ApiError | null {
  const errors = new FormErrors();
  if (!Array.isArray(commands)) {
    errors.add(prefix || '_root', 'BASE_TYPE_ARRAY', 'Must be an array');
    return errors.result();
  }
  errors.maxLength(prefix, commands, 200);
  const seen = new Set<string>();
  commands.forEach((command: Wire, i: number) => {
    const at = join(prefix, i);
    const type = command?.type ?? 1;
    const name = String(command?.name ?? '');
    if (!COMMAND_NAME.test(name) || (type === 1 && name !== name.toLowerCase())) errors.add(join(at, 'name'), 'APPLICATION_COMMAND_INVALID_NAME', 'Command name is invalid');
    const key = `${type}:${name}`;
    if (seen.has(key)) errors.add(join(at, 'name'), 'APPLICATION_COMMANDS_DUPLICATE_NAME', `Application command names must be unique`);
    seen.add(key);
    if (type === 1) {
      const description = command?.description;
      if (typeof description !== 'string' || description.length === 0) errors.add(join(at, 'description'), 'BASE_TYPE_REQUIRED', 'This field is required');
      else errors.maxLength(join(at, 'description'), description, 100);
      checkOptions(errors, command?.options, join(at, 'options'));
    }
  });
  return errors.result();
}
