/**
 * LiteLLM's own provider list: the values of the `LlmProviders` enum in `litellm/types/utils.py`
 * of BerriAI/litellm, read on 2026-12-01 at commit 001c64f24845167b8fcd01f3e48152923627d4c7
 * (in enum order). LiteLLM resolves a deployment's provider from `custom_llm_provider`, else from
 * the prefix of `model`; a name outside this list makes the request fail ("LLM Provider NOT
 * provided"). Refresh the copy when the deployed LiteLLM is much newer.
 */
export const LITELLM_PROVIDERS: readonly string[] = Object.freeze([
  'openai', 'chatgpt', 'openai_like', 'jina_ai', 'xai', 'zai', 'custom_openai', 'text-completion-openai',
  'cohere', 'cohere_chat', 'clarifai', 'anthropic', 'anthropic_text', 'bytez', 'replicate', 'reducto',
  'runwayml', 'aws_polly', 'huggingface', 'together_ai', 'openrouter', 'datarobot', 'vertex_ai',
  'vertex_ai_beta', 'gemini', 'ai21', 'baseten', 'black_forest_labs', 'azure', 'azure_text', 'azure_ai',
  'sagemaker', 'sagemaker_chat', 'sagemaker_nova', 'bedrock', 'vllm', 'nlp_cloud', 'petals', 'oobabooga',
  'ollama', 'ollama_chat', 'deepinfra', 'perplexity', 'mistral', 'milvus', 'groq', 'a2a', 'gigachat',
  'nvidia_nim', 'nvidia_riva', 'soniox', 'cerebras', 'ai21_chat', 'volcengine', 'codestral',
  'text-completion-codestral', 'dashscope', 'modelscope', 'moonshot', 'publicai', 'v0', 'morph',
  'lambda_ai', 'inception', 'text-completion-inception', 'deepseek', 'sambanova', 'maritalk', 'voyage',
  'cloudflare', 'xinference', 'fireworks_ai', 'friendliai', 'featherless_ai', 'watsonx', 'watsonx_text',
  'triton', 'predibase', 'databricks', 'empower', 'github', 'ragflow', 'compactifai', 'docker_model_runner',
  'custom', 'litellm_proxy', 'hosted_vllm', 'tencent', 'llamafile', 'lm_studio', 'galadriel', 'nebius',
  'infinity', 'deepgram', 'elevenlabs', 'novita', 'aiohttp_openai', 'langfuse', 'humanloop', 'topaz', 'sap',
  'assemblyai', 'charity_engine', 'github_copilot', 'snowflake', 'gradient_ai', 'meta_llama', 'nscale',
  'pg_vector', 's3_vectors', 'helicone', 'hyperbolic', 'recraft', 'fal_ai', 'stability', 'heroku', 'aiml',
  'cometapi', 'oci', 'auto_router', 'vercel_ai_gateway', 'dotprompt', 'manus', 'wandb', 'ovhcloud',
  'scaleway', 'lemonade', 'amazon_nova', 'a2a_agent', 'langgraph', 'langflow', 'minimax', 'synthetic',
  'apertis', 'nano-gpt', 'poe', 'chutes', 'neosantara', 'parasail', 'xiaomi_mimo', 'tensormesh', 'libertai',
  'pinstripes', 'darkbloom', 'meta', 'litellm_agent', 'cursor', 'bedrock_mantle', 'gdc',
]);

const known = new Set(LITELLM_PROVIDERS);

export function isKnownProvider(name: string): boolean {
  return known.has(name);
}

/** `hosted_vllm` for `hosted_vllm/meta-llama/Llama-3.1-8B-Instruct`; undefined when the prefix is no known provider. */
export function providerOfModel(model: string): string | undefined {
  const slash = model.indexOf('/');
  if (slash <= 0) return undefined;
  const prefix = model.slice(0, slash);
  return isKnownProvider(prefix) ? prefix : undefined;
}

/**
 * The provider LiteLLM would use for decrypted `litellm_params`: `custom_llm_provider` when set
 * (known or not: an unknown one is what fails), else the prefix of `model`.
 */
export function resolveProvider(params: { custom_llm_provider?: unknown; model?: unknown }): string | undefined {
  if (typeof params.custom_llm_provider === 'string' && params.custom_llm_provider !== '') return params.custom_llm_provider;
  return typeof params.model === 'string' ? providerOfModel(params.model) : undefined;
}
