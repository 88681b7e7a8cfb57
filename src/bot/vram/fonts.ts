import { existsSync } from 'node:fs';
import type { ResvgRenderOptions } from '@resvg/resvg-js';

export const FONT_FAMILY = 'DejaVu Sans';

/** where distributions put DejaVu Sans (Debian/Ubuntu, Fedora, Arch, Alpine) */
const DEJAVU_DIRS = ['/usr/share/fonts/truetype/dejavu', '/usr/share/fonts/dejavu-sans-fonts', '/usr/share/fonts/TTF', '/usr/share/fonts/dejavu'];
const FILES = ['DejaVuSans.ttf', 'DejaVuSans-Bold.ttf'];

let cached: ResvgRenderOptions['font'] | undefined;

/**
 * Loading two known font files costs a few ms; scanning every system font costs more the more a
 * host has installed. A host without DejaVu gets the system fonts; a host with no fonts at all
 * still renders, without text.
 */
export function fontOptions(): NonNullable<ResvgRenderOptions['font']> {
  if (!cached) {
    const dir = DEJAVU_DIRS.find((d) => FILES.every((f) => existsSync(`${d}/${f}`)));
    cached = dir
      ? { loadSystemFonts: false, fontFiles: FILES.map((f) => `${dir}/${f}`), defaultFontFamily: FONT_FAMILY }
      : { loadSystemFonts: true, defaultFontFamily: FONT_FAMILY };
  }
  return cached;
}
