import type { SmokeType } from '../../contracts/smoke.js';
import type { LiteLLMClient, LiteLLMHeaders, ProxyResult } from '../../litellm/client.js';
import { TINY_PNG_DATA_URL, VISION_PROMPT } from './tiny-image.js';

export type SmokeAnswer = ProxyResult<{ headers: LiteLLMHeaders }> | { ok: false; kind: 'empty'; status: number; detail: string; latencyMs: number; headers: LiteLLMHeaders };

/** The cheapest real request for a type: 1 token of chat, one short embedding, or 1 token about a tiny image. */
export async function smokeRequest(client: LiteLLMClient, type: SmokeType, model: string, opts: { signal: AbortSignal; timeoutMs: number }): Promise<SmokeAnswer> {
  switch (type) {
    case 'chat':
    case 'completion':
      return await client.chat(model, { maxTokens: 1, ...opts });
    case 'vision':
      return await client.chat(model, { maxTokens: 1, image: TINY_PNG_DATA_URL, prompt: VISION_PROMPT, ...opts });
    case 'embeddings': {
      const answer = await client.embeddings(model, 'labops smoke test', opts);
      if (answer.ok && (answer.count === 0 || answer.dimensions === 0)) {
        return { ok: false, kind: 'empty', status: answer.status, detail: 'the answer holds no embedding', latencyMs: answer.latencyMs, headers: answer.headers };
      }
      return answer;
    }
  }
}
