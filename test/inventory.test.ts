import { describe, expect, it } from 'vitest';
import { Inventory } from '../src/config/inventory.js';
import { loadConfig } from '../src/config/load.js';
import { EXAMPLE_CONFIG } from '../src/core/paths.js';
import { UserError } from '../src/core/errors.js';

const inventory = new Inventory(loadConfig(EXAMPLE_CONFIG, {}).config);

function errorOf(fn: () => unknown): UserError {
  try {
    fn();
  } catch (err) {
    if (err instanceof UserError) return err;
    throw err;
  }
  throw new Error('expected a UserError');
}

describe('model names', () => {
  it('resolves exact names, aliases and unique prefixes', () => {
    expect(inventory.resolveModel('chat-hermes-3-llama-3.1-8b').name).toBe('chat-hermes-3-llama-3.1-8b');
    expect(inventory.resolveModel('chat-hermes').name).toBe('chat-hermes-3-llama-3.1-8b');
    expect(inventory.resolveModel('vision').name).toBe('vision-qwen3-vl-4b-ollama');
    expect(inventory.resolveModel('embeddings-default', 'gpu-1').host).toBe('gpu-1');
  });

  it('lists the candidates of an ambiguous prefix, closest first', () => {
    const err = errorOf(() => inventory.resolveModel('chat-'));
    expect(err.kind).toBe('usage');
    expect(err.message).toBe('"chat-" matches 3 models.');
    expect(err.hint).toMatch(/^Candidates: chat-hermes-3-llama-3\.1-8b \(chat-hermes\), chat-mistral-7b-ollama, chat-qwen2\.5-0\.5b-vllm/);
  });

  it('answers an unknown name with the closest ones', () => {
    const err = errorOf(() => inventory.resolveModel('hermes'));
    expect(err.message).toBe('Unknown model "hermes".');
    expect(err.hint).toMatch(/^Closest: chat-hermes-3-llama-3\.1-8b/);
  });

  it('answers an unknown host with the hosts', () => {
    const err = errorOf(() => inventory.selectHosts('gpu-9'));
    expect(err.message).toBe('Unknown host "gpu-9".');
    expect(err.hint).toBe('Hosts: gpu-1');
  });
});
