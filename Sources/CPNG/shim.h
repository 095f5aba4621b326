// libpng behind one call that cannot longjmp through Swift: the setjmp libpng's errors
// return to lives in diswot_png_decode itself, and errors and warnings come back as text
// (or are dropped, for warnings) instead of going to stderr.
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <png.h>

/// The PNG being read from memory and the first error's message.
typedef struct {
  const unsigned char *data;
  size_t size;
  size_t offset;
  char message[256];
} diswot_png_state;

static void diswot_png_error(png_structp png, png_const_charp text) {
  diswot_png_state *state = (diswot_png_state *)png_get_error_ptr(png);
  snprintf(state->message, sizeof state->message, "%s", text);
  png_longjmp(png, 1);
}

/// Warnings (a bad ancillary chunk's CRC, an unknown sRGB profile) do not stop PIL either.
static void diswot_png_warning(png_structp png, png_const_charp text) { (void)png; (void)text; }

static void diswot_png_read(png_structp png, png_bytep into, png_size_t count) {
  diswot_png_state *state = (diswot_png_state *)png_get_io_ptr(png);
  if (count > state->size - state->offset) png_error(png, "the file ends before the image data does (truncated)");
  memcpy(into, state->data + state->offset, count);
  state->offset += count;
}

/// The largest image decoded, in pixels: PIL's decompression-bomb limit (2 × MAX_IMAGE_PIXELS).
#define DISWOT_PNG_MAX_PIXELS 178956970L

/// Decodes the PNG in data[0..<size] to 8-bit RGB, row-major and interleaved, as PIL's
/// `convert("RGB")` does: palettes looked up, grayscale replicated (1-, 2- and 4-bit
/// scaled to 0-255), alpha and transparency dropped without compositing, 16-bit colour
/// cut to its high byte. 16-bit grayscale without alpha is refused (returns 2): PIL
/// opens it as "I;16" and its convert("RGB") clips every value above 255 to white.
/// Returns 0 with a malloc'd *pixels the caller frees, else 1 or 2 with the reason in
/// message (NUL-terminated, at most message_size bytes).
static int diswot_png_decode(const unsigned char *data, size_t size, unsigned char **pixels,
                             int *width, int *height, char *message, size_t message_size) {
  diswot_png_state state;
  state.data = data;
  state.size = size;
  state.offset = 0;
  state.message[0] = 0;
  unsigned char *volatile out = NULL;
  png_bytep *volatile rows = NULL;
  *pixels = NULL;
  png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &state, diswot_png_error, diswot_png_warning);
  if (!png) {
    snprintf(message, message_size, "libpng could not start");
    return 1;
  }
  png_infop info = png_create_info_struct(png);
  if (!info) {
    png_destroy_read_struct(&png, NULL, NULL);
    snprintf(message, message_size, "libpng could not start");
    return 1;
  }
  if (setjmp(png_jmpbuf(png))) {
    snprintf(message, message_size, "%s", state.message);
    png_destroy_read_struct(&png, &info, NULL);
    free(out);
    free(rows);
    return 1;
  }
  png_set_read_fn(png, &state, diswot_png_read);
  png_read_info(png, info);
  png_uint_32 w = png_get_image_width(png, info), h = png_get_image_height(png, info);
  int depth = png_get_bit_depth(png, info), type = png_get_color_type(png, info);
  if ((long)w * (long)h > DISWOT_PNG_MAX_PIXELS) {
    snprintf(message, message_size, "%u×%u pixels is more than the %ld-pixel limit", w, h, DISWOT_PNG_MAX_PIXELS);
    png_destroy_read_struct(&png, &info, NULL);
    return 1;
  }
  if (depth == 16 && type == PNG_COLOR_TYPE_GRAY) {
    snprintf(message, message_size,
             "16-bit grayscale PNG: PIL's convert(\"RGB\") clips it to 0-255 (mostly white); convert it to 8 bits first");
    png_destroy_read_struct(&png, &info, NULL);
    return 2;
  }
  if (type == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
  if (type == PNG_COLOR_TYPE_GRAY && depth < 8) png_set_expand_gray_1_2_4_to_8(png);
  if (depth == 16) png_set_strip_16(png);
  if (type & PNG_COLOR_MASK_ALPHA || png_get_valid(png, info, PNG_INFO_tRNS)) png_set_strip_alpha(png);
  if (type == PNG_COLOR_TYPE_GRAY || type == PNG_COLOR_TYPE_GRAY_ALPHA) png_set_gray_to_rgb(png);
  png_set_interlace_handling(png);
  png_read_update_info(png, info);
  if (png_get_channels(png, info) != 3 || png_get_bit_depth(png, info) != 8) {
    snprintf(message, message_size, "PNG colour type %d at %d bits did not convert to 8-bit RGB", type, depth);
    png_destroy_read_struct(&png, &info, NULL);
    return 1;
  }
  size_t stride = (size_t)w * 3;
  out = malloc(stride * h);
  rows = malloc(sizeof(png_bytep) * h);
  if (!out || !rows) {
    snprintf(message, message_size, "out of memory for %u×%u pixels", w, h);
    png_destroy_read_struct(&png, &info, NULL);
    free(out);
    free(rows);
    return 1;
  }
  for (png_uint_32 y = 0; y < h; y++) rows[y] = out + stride * y;
  // Not png_read_end: what follows the image data (text, a missing IEND) does not stop PIL.
  png_read_image(png, rows);
  free(rows);
  rows = NULL;
  png_destroy_read_struct(&png, &info, NULL);
  *width = (int)w;
  *height = (int)h;
  *pixels = out;
  return 0;
}
