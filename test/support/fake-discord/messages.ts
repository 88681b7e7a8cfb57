/**
 * Creating and editing messages the way Discord does: the stored object is what a GET answers,
 * with mentions resolved against `allowed_mentions`, attachments turned into attachment objects,
 * embeds typed `rich`, and interaction metadata on interaction responses.
 */
import { InteractionType, MessageFlags, type FakeState, type InteractionRecord, type Wire } from './state.js';

export interface Upload {
  /** The multipart field name, e.g. `files[0]`. */
  field: string;
  name: string;
  contentType: string;
  data: Buffer;
}

export interface NewMessage {
  channelId: string;
  payload: Wire;
  files: Upload[];
  /** Message type (0 default, 19 reply, 20 chat input command). */
  type?: number;
  /** Flags set by Discord rather than by the payload (e.g. LOADING for a deferred reply). */
  extraFlags?: number;
  /** Set for interaction responses and follow-ups. */
  interaction?: InteractionRecord;
}

/** Flags a bot may set on a new message. */
const SETTABLE_FLAGS = MessageFlags.SuppressEmbeds | MessageFlags.SuppressNotifications | MessageFlags.Ephemeral | (1 << 15);

function normaliseEmbeds(embeds: Wire): Wire[] {
  if (!Array.isArray(embeds)) return [];
  return embeds.map((embed: Wire) => ({ type: 'rich', ...embed, content_scan_version: 0 }));
}

/** As Discord does: an embed's `attachment://<filename>` image or thumbnail becomes that upload's URLs (and size). */
function withAttachmentUrls(message: Wire): void {
  const byName = new Map<string, Wire>((message.attachments as Wire[]).map((a) => [a.filename, a]));
  const resolve = (media: Wire) => {
    const name = typeof media?.url === 'string' && media.url.startsWith('attachment://') ? media.url.slice('attachment://'.length) : null;
    const a = name === null ? undefined : byName.get(name);
    return a ? { url: a.url, proxy_url: a.proxy_url, ...(a.width ? { width: a.width, height: a.height } : {}) } : media;
  };
  for (const embed of message.embeds as Wire[]) {
    if (embed.image) embed.image = resolve(embed.image);
    if (embed.thumbnail) embed.thumbnail = resolve(embed.thumbnail);
  }
}

function interactionMetadata(record: InteractionRecord, isFollowUp: boolean): Wire {
  const payload = record.payload;
  const user = payload.member?.user ?? payload.user;
  const metadata: Wire = {
    id: record.id,
    type: record.type,
    user,
    authorizing_integration_owners: payload.authorizing_integration_owners,
  };
  if (record.type === InteractionType.ApplicationCommand) {
    metadata.name = payload.data?.name;
    metadata.command_type = payload.data?.type ?? 1;
  }
  if (record.type === InteractionType.MessageComponent) metadata.interacted_message_id = payload.message?.id;
  if (isFollowUp && record.originalMessageId) metadata.original_response_message_id = record.originalMessageId;
  return metadata;
}

export function createMessage(state: FakeState, input: NewMessage): Wire {
  const { channelId, payload } = input;
  const channel = state.channels.get(channelId);
  const content = typeof payload.content === 'string' ? payload.content : '';
  const isFollowUp = Boolean(input.interaction?.acknowledged);
  const message: Wire = {
    id: state.ids.next(),
    type: input.type ?? 0,
    channel_id: channelId,
    author: state.bot,
    content,
    timestamp: state.clock.iso(),
    edited_timestamp: null,
    tts: Boolean(payload.tts),
    ...state.mentionsFor(content, payload.allowed_mentions),
    mention_channels: [],
    attachments: state.attachmentsFor(channelId, payload.attachments, input.files),
    embeds: normaliseEmbeds(payload.embeds),
    components: Array.isArray(payload.components) ? payload.components : [],
    sticker_items: [],
    pinned: false,
    flags: ((payload.flags ?? 0) & SETTABLE_FLAGS) | (input.extraFlags ?? 0),
  };
  withAttachmentUrls(message);
  if (channel?.guild_id) message.guild_id = channel.guild_id;
  if (payload.nonce !== undefined && payload.nonce !== null) message.nonce = payload.nonce;
  if (payload.poll) message.poll = payload.poll;
  const reference = payload.message_reference;
  if (reference?.message_id) {
    const referenced = state.findMessage(String(reference.message_id));
    message.type = 19;
    message.message_reference = { type: 0, channel_id: channelId, message_id: String(reference.message_id), ...(channel?.guild_id ? { guild_id: channel.guild_id } : {}) };
    message.referenced_message = referenced ?? null;
  }
  if (input.interaction) {
    const record = input.interaction;
    message.webhook_id = state.applicationId;
    message.application_id = state.applicationId;
    message.interaction_metadata = interactionMetadata(record, isFollowUp);
    if (record.type === InteractionType.ApplicationCommand) {
      message.interaction = { id: record.id, type: record.type, name: record.payload.data?.name, user: record.payload.member?.user ?? record.payload.user };
    }
    if (isFollowUp && record.originalMessageId) {
      message.message_reference = { type: 0, channel_id: channelId, message_id: record.originalMessageId, ...(channel?.guild_id ? { guild_id: channel.guild_id } : {}) };
    }
  }
  const list = state.messages.get(channelId) ?? [];
  list.push(message);
  state.messages.set(channelId, list);
  if (channel) channel.last_message_id = message.id;
  return message;
}

/**
 * Applies an edit (PATCH body) to a stored message: fields present replace, fields absent stay.
 * The first edit of a deferred reply only clears its LOADING flag, as on Discord.
 */
export function editMessage(state: FakeState, message: Wire, payload: Wire, files: Upload[]): Wire {
  if ('content' in payload) message.content = typeof payload.content === 'string' ? payload.content : '';
  if ('content' in payload || 'allowed_mentions' in payload) Object.assign(message, state.mentionsFor(message.content, payload.allowed_mentions));
  if ('embeds' in payload) message.embeds = normaliseEmbeds(payload.embeds);
  if ('components' in payload) message.components = Array.isArray(payload.components) ? payload.components : [];
  if ('attachments' in payload || files.length > 0) message.attachments = state.attachmentsFor(message.channel_id, payload.attachments ?? undefined, files, message.attachments);
  withAttachmentUrls(message);
  if (typeof payload.flags === 'number') {
    message.flags = (message.flags & ~MessageFlags.SuppressEmbeds) | (payload.flags & MessageFlags.SuppressEmbeds);
  }
  if (message.flags & MessageFlags.Loading) message.flags &= ~MessageFlags.Loading;
  else message.edited_timestamp = state.clock.iso();
  return message;
}

export function deleteMessage(state: FakeState, message: Wire): void {
  const list = state.messages.get(message.channel_id);
  if (!list) return;
  const index = list.findIndex((m) => m.id === message.id);
  if (index >= 0) list.splice(index, 1);
}
