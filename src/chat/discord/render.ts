import { ButtonStyle, ComponentType, type APIActionRowComponent, type APIButtonComponentWithCustomId, type APIEmbed, type APIEmbedField } from 'discord.js';
import { redact } from '../../core/redact.js';
import type { ConfirmRequest } from '../command.js';
import { printableLine, printableReply, printableText } from '../printable.js';
import { formatTable, renderText } from '../render-text.js';
import type { Action, Reply, Tone } from '../../core/reply.js';

/** Discord's message limits (https://discord.com/developers/docs/resources/message#embed-object-embed-limits). */
export const LIMITS = {
  content: 2000,
  title: 256,
  description: 4096,
  fields: 25,
  fieldName: 256,
  fieldValue: 1024,
  footer: 2048,
  embeds: 10,
  /** title + description + field names and values + footer + author, over all embeds of a message */
  total: 6000,
  buttonLabel: 80,
  customId: 100,
  buttonsPerRow: 5,
  rows: 5,
} as const;

export const COLORS: Record<Tone, number> = { ok: 0x57f287, info: 0x5865f2, warn: 0xfee75c, error: 0xed4245 };

export interface OutgoingFile {
  name: string;
  data: Buffer;
  contentType?: string;
}

export type ButtonRow = APIActionRowComponent<APIButtonComponentWithCustomId>;

/** A whole message as Discord's JSON: every field set, so that an edit replaces what was there. */
export interface MessageBody {
  content: string;
  embeds: APIEmbed[];
  components: ButtonRow[];
  allowed_mentions: { parse: never[] };
  attachments: { id: number; filename: string }[];
  flags?: number;
  nonce?: string;
  enforce_nonce?: boolean;
}

export interface OutgoingMessage {
  body: MessageBody;
  files: OutgoingFile[];
}

export interface Button {
  customId: string;
  label: string;
  style?: Action['style'] | 'success';
  disabled?: boolean;
}

export interface RenderOptions {
  /** base name of the .txt attachment when the reply does not fit (e.g. the command's name) */
  fileName: string;
  /** one button per `reply.actions`, in order (their custom ids are made by the caller) */
  buttons?: Button[];
}

/**
 * A Reply as a Discord message: one embed per section (`heading` starts a new one), fields as
 * embed fields, tables as code blocks, the hint in the footer, actions as buttons. When it does
 * not fit Discord's limits, the whole reply goes in a `.txt` attachment and what fits of it stays
 * inline, with a footer that says so. Secrets are redacted from everything.
 */
export function renderReply(unsafe: Reply, opts: RenderOptions): OutgoingMessage {
  const reply = printableReply(unsafe);
  const embeds = buildEmbeds(reply);
  const components = buttonRows(opts.buttons ?? []);
  const attached = (unsafe.attachments ?? []).map((a): OutgoingFile => ({ name: safeFileName(a.name), data: a.data, contentType: a.contentType }));
  if (fits(embeds)) return message({ embeds, components, files: attached });

  const full = redact(renderText(reply));
  const fileName = `${safeFileName(opts.fileName)}.txt`;
  const lines = full.split('\n').length;
  const note = `The whole reply (${lines} lines) is attached as ${fileName}.`;
  const inline = summarise(embeds, note);
  return message({ embeds: inline, components, files: [...attached, { name: fileName, data: Buffer.from(`${full}\n`, 'utf8'), contentType: 'text/plain; charset=utf-8' }] });
}

/** A progress line (the deferred reply or the channel message, edited in place). */
export function renderProgress(text: string, title?: string): OutgoingMessage {
  const line = `⏳ ${printableLine(text)}`;
  if (!title) return message({ content: clip(line, LIMITS.content) });
  return message({ embeds: [{ title: clip(title, LIMITS.title), description: clip(line, LIMITS.description), color: COLORS.info }] });
}

export interface ConfirmView {
  confirmId: string;
  cancelId: string;
  /** ms since the epoch */
  expiresAt: number;
  invokerUserId: string;
  /** a second member with the capability must confirm */
  twoPerson: boolean;
  capability: string;
}

/** The confirmation prompt: what will happen, who may confirm, when it expires; Confirm and Cancel buttons. */
export function renderConfirm(request: ConfirmRequest, view: ConfirmView): OutgoingMessage {
  const who = view.twoPerson
    ? `A second member with the ${view.capability} role (not <@${view.invokerUserId}>) must confirm.`
    : `Only <@${view.invokerUserId}> can confirm.`;
  const description = [printableText(request.detail ?? ''), '', `${who} Expires <t:${Math.floor(view.expiresAt / 1000)}:R>.`].join('\n').trim();
  return message({
    embeds: [{ title: clip(`${request.danger ? '⚠ ' : ''}${printableLine(request.title)}`, LIMITS.title), description: clip(description, LIMITS.description), color: request.danger ? COLORS.error : COLORS.warn }],
    components: buttonRows([
      { customId: view.confirmId, label: request.confirmLabel, style: request.danger ? 'danger' : 'primary' },
      { customId: view.cancelId, label: 'Cancel', style: 'secondary' },
    ]),
  });
}

/** The same prompt once it can no longer be answered: buttons disabled, and why. */
export function renderConfirmClosed(request: ConfirmRequest, view: ConfirmView, why: string): OutgoingMessage {
  const prompt = renderConfirm(request, view);
  const embed = prompt.body.embeds[0]!;
  embed.description = clip(`${request.detail ? `${request.detail}\n\n` : ''}${why}`, LIMITS.description);
  embed.color = COLORS.warn;
  for (const row of prompt.body.components) for (const button of row.components) button.disabled = true;
  return prompt;
}

/** A short notice (ephemeral answers to button presses and the like). */
export function renderNote(text: string, tone: Tone = 'info'): OutgoingMessage {
  return message({ embeds: [{ description: clip(printableText(text), LIMITS.description), color: COLORS[tone] }] });
}

/** A first line of plain content above the embeds (who asked, where the result continues). */
export function withContent(msg: OutgoingMessage, content: string): OutgoingMessage {
  return { files: msg.files, body: { ...msg.body, content: clip(redact(content), LIMITS.content) } };
}

export function message(parts: { content?: string; embeds?: APIEmbed[]; components?: ButtonRow[]; files?: OutgoingFile[] }): OutgoingMessage {
  // text is redacted; an image is bytes, drawn from redacted text
  const files = (parts.files ?? []).map((f) => (isText(f) ? { ...f, data: Buffer.from(redact(f.data.toString('utf8')), 'utf8') } : f));
  return {
    body: {
      content: redact(parts.content ?? ''),
      embeds: (parts.embeds ?? []).map(redactEmbed),
      components: parts.components ?? [],
      allowed_mentions: { parse: [] },
      attachments: files.map((f, id) => ({ id, filename: f.name })),
    },
    files,
  };
}

const isText = (f: OutgoingFile) => !f.contentType || f.contentType.startsWith('text/');

// ---- embeds ----

interface Section {
  title: string;
  lines: string[];
  fields: APIEmbedField[];
  /** the file name of an attached image shown in this embed */
  image?: string;
}

function buildEmbeds(reply: Reply): APIEmbed[] {
  const sections: Section[] = [{ title: reply.title, lines: [], fields: [] }];
  const current = () => sections[sections.length - 1]!;
  for (const block of reply.blocks) {
    switch (block.kind) {
      case 'heading':
        sections.push({ title: block.text, lines: [], fields: [] });
        break;
      case 'text':
        current().lines.push(block.text);
        break;
      case 'fields':
        current().fields.push(...block.fields.map((f) => ({ name: f.name || '\u200b', value: f.value || '\u200b', inline: Boolean(f.inline) })));
        break;
      case 'table':
        current().lines.push(...(block.title ? [`**${block.title}**`] : []), '```', ...formatTable(block.columns, block.rows).map(noFence), '```');
        break;
      case 'image':
        current().image = safeFileName(block.file);
        break;
    }
  }
  const color = COLORS[reply.tone];
  const embeds = sections.map((s): APIEmbed => {
    const lines = [...s.lines];
    let title = s.title.trim() || '\u200b';
    if (title.length > LIMITS.title) {
      lines.unshift(title);
      title = clip(title, LIMITS.title);
    }
    const description = lines.join('\n').trim();
    return {
      title,
      color,
      ...(description ? { description } : {}),
      ...(s.fields.length > 0 ? { fields: s.fields } : {}),
      ...(s.image ? { image: { url: `attachment://${s.image}` } } : {}),
    };
  });
  if (reply.hint) embeds[embeds.length - 1]!.footer = { text: `→ ${reply.hint}` };
  return embeds;
}

export function embedSize(embed: APIEmbed): number {
  let n = (embed.title?.length ?? 0) + (embed.description?.length ?? 0) + (embed.footer?.text.length ?? 0) + (embed.author?.name.length ?? 0);
  for (const f of embed.fields ?? []) n += f.name.length + f.value.length;
  return n;
}

function embedFits(embed: APIEmbed): boolean {
  if ((embed.title?.length ?? 0) > LIMITS.title) return false;
  if ((embed.description?.length ?? 0) > LIMITS.description) return false;
  if ((embed.footer?.text.length ?? 0) > LIMITS.footer) return false;
  const fields = embed.fields ?? [];
  if (fields.length > LIMITS.fields) return false;
  return fields.every((f) => f.name.length <= LIMITS.fieldName && f.value.length <= LIMITS.fieldValue);
}

export function fits(embeds: APIEmbed[]): boolean {
  if (embeds.length > LIMITS.embeds) return false;
  if (embeds.reduce((n, e) => n + embedSize(e), 0) > LIMITS.total) return false;
  return embeds.every(embedFits);
}

/** What fits of the embeds, each cut to Discord's limits, with `note` in the last one's footer. */
function summarise(embeds: APIEmbed[], note: string): APIEmbed[] {
  const budget = LIMITS.total - note.length - 200;
  const out: APIEmbed[] = [];
  let used = 0;
  for (const original of embeds) {
    if (out.length >= LIMITS.embeds) break;
    const embed = cutEmbed(original, Math.min(LIMITS.description, budget - used - 300));
    if (!embed) break;
    const size = embedSize(embed);
    if (used + size > budget) break;
    out.push(embed);
    used += size;
  }
  if (out.length === 0) out.push({ title: clip(embeds[0]?.title ?? 'Reply', LIMITS.title), color: embeds[0]?.color ?? COLORS.info });
  const last = out[out.length - 1]!;
  const hint = embeds[embeds.length - 1]?.footer?.text;
  last.footer = { text: clip(hint && out.length === embeds.length ? `${hint}\n${note}` : note, LIMITS.footer) };
  return out;
}

function cutEmbed(embed: APIEmbed, descriptionBudget: number): APIEmbed | null {
  if (descriptionBudget < 50) return null;
  const out: APIEmbed = { ...embed };
  delete out.footer;
  if (out.title) out.title = clip(out.title, LIMITS.title);
  if (out.description) out.description = cutLinesTo(out.description, descriptionBudget);
  if (out.fields) {
    out.fields = out.fields.slice(0, LIMITS.fields).map((f) => ({ ...f, name: clip(f.name, LIMITS.fieldName), value: cutLinesTo(f.value, LIMITS.fieldValue) }));
    let size = embedSize(out);
    while (out.fields.length > 0 && size > descriptionBudget + (out.title?.length ?? 0)) {
      out.fields.pop();
      size = embedSize(out);
    }
    if (out.fields.length === 0) delete out.fields;
  }
  return out;
}

/**
 * The first lines of `text` within `max` characters, keeping code fences closed, with a last line
 * that says how many were left out.
 */
export function cutLinesTo(text: string, max: number): string {
  if (text.length <= max) return text;
  const lines = text.split('\n');
  const kept: string[] = [];
  let length = 0;
  let open = false;
  for (const line of lines) {
    const reserve = 40 + (open || line.startsWith('```') ? 4 : 0);
    if (length + line.length + 1 + reserve > max) break;
    kept.push(line);
    length += line.length + 1;
    if (line.startsWith('```')) open = !open;
  }
  if (kept.length === 0) return clip(text, max);
  if (open) kept.push('```');
  kept.push(`… ${lines.length - kept.length + (open ? 1 : 0)} more lines`);
  return kept.join('\n');
}

// ---- buttons ----

const STYLE: Record<NonNullable<Button['style']>, ButtonStyle.Primary | ButtonStyle.Secondary | ButtonStyle.Success | ButtonStyle.Danger> = {
  primary: ButtonStyle.Primary,
  secondary: ButtonStyle.Secondary,
  success: ButtonStyle.Success,
  danger: ButtonStyle.Danger,
};

export function buttonRows(buttons: Button[]): ButtonRow[] {
  const usable = buttons.filter((b) => b.customId.length <= LIMITS.customId).slice(0, LIMITS.buttonsPerRow * LIMITS.rows);
  const rows: ButtonRow[] = [];
  for (let i = 0; i < usable.length; i += LIMITS.buttonsPerRow) {
    rows.push({
      type: ComponentType.ActionRow,
      components: usable.slice(i, i + LIMITS.buttonsPerRow).map((b) => ({
        type: ComponentType.Button,
        style: STYLE[b.style ?? 'secondary'],
        custom_id: b.customId,
        label: clip(b.label, LIMITS.buttonLabel),
        ...(b.disabled ? { disabled: true } : {}),
      })),
    });
  }
  return rows;
}

// ---- text ----

export function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

function redactEmbed(embed: APIEmbed): APIEmbed {
  const out: APIEmbed = { ...embed };
  if (out.title) out.title = redact(out.title);
  if (out.description) out.description = redact(out.description);
  if (out.footer) out.footer = { ...out.footer, text: redact(out.footer.text) };
  if (out.fields) out.fields = out.fields.map((f) => ({ ...f, name: redact(f.name), value: redact(f.value) }));
  return out;
}

/** Text inside a code block cannot close it. */
function noFence(line: string): string {
  return line.replace(/```/g, '`\u200b`\u200b`');
}

function safeFileName(name: string): string {
  return name.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 60) || 'reply';
}
