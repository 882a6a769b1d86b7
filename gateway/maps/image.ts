/**
 * What an uploaded floor plan really is, from its first bytes: the name and content-type the browser sends are the
 * uploader's claim, the magic bytes are the file. Only PNG, JPEG and WebP pass: raster formats a browser shows in an
 * <img> and never runs. SVG (which can carry scripts), HTML, GIF and everything else are refused.
 */
export type MapImageType = 'image/png' | 'image/jpeg' | 'image/webp';

export const MAP_IMAGE_TYPES: readonly MapImageType[] = ['image/png', 'image/jpeg', 'image/webp'];

const PNG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

export function sniffImage(bytes: Buffer): MapImageType | null {
  if (bytes.length >= 8 && bytes.subarray(0, 8).equals(PNG)) return 'image/png';
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'image/jpeg';
  if (bytes.length >= 12 && bytes.toString('latin1', 0, 4) === 'RIFF' && bytes.toString('latin1', 8, 12) === 'WEBP') return 'image/webp';
  return null;
}
