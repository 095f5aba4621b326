// libjpeg(-turbo) behind one call that cannot longjmp through Swift: the setjmp that
// libjpeg's fatal errors return to lives in diswot_jpeg_decode itself, so a corrupt file
// unwinds only C frames, and the message comes back as text instead of going to stderr.
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <setjmp.h>
#include <jpeglib.h>
#include <jerror.h>

/// libjpeg's error manager with where to jump on a fatal error and whether the data ran
/// out early (a warning to libjpeg, which pads the image with grey; an error to us, as
/// to PIL, which refuses truncated files).
typedef struct {
  struct jpeg_error_mgr manager;
  jmp_buf jump;
  int truncated;
} diswot_jpeg_error;

static void diswot_jpeg_error_exit(j_common_ptr info) {
  longjmp(((diswot_jpeg_error *)info->err)->jump, 1);
}

/// Warnings are counted, never printed; only premature end of data matters.
static void diswot_jpeg_emit_message(j_common_ptr info, int level) {
  if (level < 0) {
    info->err->num_warnings++;
    if (info->err->msg_code == JWRN_JPEG_EOF) ((diswot_jpeg_error *)info->err)->truncated = 1;
  }
}

static void diswot_jpeg_output_message(j_common_ptr info) { (void)info; }

/// The largest image decoded, in pixels: PIL's decompression-bomb limit (2 × MAX_IMAGE_PIXELS).
#define DISWOT_JPEG_MAX_PIXELS 178956970L

/// Decodes the JPEG in data[0..<size] to 8-bit pixels, row-major and interleaved:
/// RGB (*components = 3; grayscale and YCbCr are converted by libjpeg) or, for
/// 4-component files, CMYK as stored (*components = 4, Adobe's inverted convention).
/// On success returns 0 and *pixels is a malloc'd buffer the caller frees; on failure
/// returns 1 and writes the reason to message (NUL-terminated, at most message_size bytes).
static int diswot_jpeg_decode(const unsigned char *data, size_t size, unsigned char **pixels,
                              int *width, int *height, int *components,
                              char *message, size_t message_size) {
  struct jpeg_decompress_struct info;
  diswot_jpeg_error error;
  unsigned char *volatile out = NULL;
  *pixels = NULL;
  info.err = jpeg_std_error(&error.manager);
  error.manager.error_exit = diswot_jpeg_error_exit;
  error.manager.emit_message = diswot_jpeg_emit_message;
  error.manager.output_message = diswot_jpeg_output_message;
  error.truncated = 0;
  if (setjmp(error.jump)) {
    char text[JMSG_LENGTH_MAX];
    (*info.err->format_message)((j_common_ptr)&info, text);
    snprintf(message, message_size, "%s", text);
    jpeg_destroy_decompress(&info);
    free(out);
    return 1;
  }
  jpeg_create_decompress(&info);
  jpeg_mem_src(&info, data, (unsigned long)size);
  jpeg_read_header(&info, TRUE);
  switch (info.jpeg_color_space) {
    case JCS_GRAYSCALE: case JCS_YCbCr: case JCS_RGB:
      info.out_color_space = JCS_RGB;
      break;
    case JCS_CMYK: case JCS_YCCK:
      info.out_color_space = JCS_CMYK;
      break;
    default:
      snprintf(message, message_size, "unsupported JPEG colour space (%d components)", info.num_components);
      jpeg_destroy_decompress(&info);
      return 1;
  }
  if ((long)info.image_width * (long)info.image_height > DISWOT_JPEG_MAX_PIXELS) {
    snprintf(message, message_size, "%u×%u pixels is more than the %ld-pixel limit",
             info.image_width, info.image_height, DISWOT_JPEG_MAX_PIXELS);
    jpeg_destroy_decompress(&info);
    return 1;
  }
  jpeg_start_decompress(&info);
  size_t stride = (size_t)info.output_width * (size_t)info.output_components;
  out = malloc(stride * info.output_height);
  if (!out) {
    snprintf(message, message_size, "out of memory for %u×%u pixels", info.output_width, info.output_height);
    jpeg_destroy_decompress(&info);
    return 1;
  }
  while (info.output_scanline < info.output_height) {
    JSAMPROW row = out + stride * info.output_scanline;
    jpeg_read_scanlines(&info, &row, 1);
  }
  jpeg_finish_decompress(&info);
  if (error.truncated) {
    snprintf(message, message_size, "the file ends before the image data does (truncated)");
    jpeg_destroy_decompress(&info);
    free(out);
    return 1;
  }
  *width = (int)info.output_width;
  *height = (int)info.output_height;
  *components = info.output_components;
  *pixels = out;
  jpeg_destroy_decompress(&info);
  return 0;
}
