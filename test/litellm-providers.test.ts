import { describe, expect, it } from 'vitest';
import { encryptValue, deriveKeys } from '../src/litellm/crypto.js';
import { isKnownProvider, LITELLM_PROVIDERS, providerOfModel, resolveProvider } from '../src/litellm/providers.js';

const ciphertext = encryptValue('openai', deriveKeys('sk-some-salt-key'));

describe('LiteLLM providers', () => {
  it('knows the providers the lab uses', () => {
    for (const name of ['openai', 'ollama', 'ollama_chat', 'hosted_vllm', 'openrouter', 'azure']) expect(isKnownProvider(name), name).toBe(true);
    expect(new Set(LITELLM_PROVIDERS).size).toBe(LITELLM_PROVIDERS.length);
  });

  it('does not take a ciphertext, an empty string or a typo for a provider', () => {
    for (const name of [ciphertext, '', 'sytemd', 'OpenAI', ' openai']) expect(isKnownProvider(name), name).toBe(false);
  });

  it('reads the provider from the prefix of a model', () => {
    expect(providerOfModel('hosted_vllm/meta-llama/Llama-3.1-8B-Instruct')).toBe('hosted_vllm');
    expect(providerOfModel('openai/gpt-4o-mini')).toBe('openai');
    expect(providerOfModel('ollama_chat/qwen3-vl:4b')).toBe('ollama_chat');
    expect(providerOfModel('gpt-4o-mini')).toBeUndefined();
    expect(providerOfModel('meta-llama/Llama-3.1-8B-Instruct')).toBeUndefined();
    expect(providerOfModel('/openai')).toBeUndefined();
    expect(providerOfModel(`${ciphertext}/x`)).toBeUndefined();
  });

  it('resolves the provider like LiteLLM: custom_llm_provider first, else the model prefix', () => {
    expect(resolveProvider({ model: 'mistral-7b', custom_llm_provider: 'openai' })).toBe('openai');
    expect(resolveProvider({ model: 'openai/mistral-7b', custom_llm_provider: ciphertext })).toBe(ciphertext);
    expect(resolveProvider({ model: 'ollama/mistral' })).toBe('ollama');
    expect(resolveProvider({ model: 'mistral' })).toBeUndefined();
    expect(resolveProvider({ model: 'openai/x', custom_llm_provider: '' })).toBe('openai');
  });
});
