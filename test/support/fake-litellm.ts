/** The LiteLLM stand-in ships with `labops demo`; the tests use the same one. */
export * from '../../src/demo/litellm-stand-in.js';
