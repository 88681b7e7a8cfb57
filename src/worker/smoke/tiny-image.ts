/**
 * A 32×32 red PNG as a data URL: the image of a vision smoke. Small enough for any request, large
 * enough for vision models that refuse images under 28 px (Qwen-VL).
 */
export const TINY_PNG_DATA_URL =
  'data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAACAAAAAgCAIAAAD8GO2jAAAAKklEQVR42mO4IydHU8QwasGoBaMWjFowasGoBaMWjFowasGoBaMWDBULAJI2YD30P/0LAAAAAElFTkSuQmCC';

export const VISION_PROMPT = 'What colour is this image? Answer in one word.';
