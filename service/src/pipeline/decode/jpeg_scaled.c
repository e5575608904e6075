/*
 * A scaled, cropped JPEG decode through libjpeg's own API, for what
 * TurboJPEG's tj3Decompress8 does not let a caller choose:
 *
 * - Block smoothing stays off. libjpeg turns it on for a progressive JPEG
 *   whose low AC coefficients still lack bits after the last scan, which is
 *   the case once `progressive.rs` has cut the final refinements: it then
 *   re-estimates them from each block's neighbours, a pass that cost a sixth
 *   of the 16 MP bench photo's decode and moved the picture away from the
 *   full decode's (51.8 dB without it, 51.8 dB with it, at 1/4).
 * - The stream comes as spans of the original buffer: the scans that were
 *   cut are skipped where they lie instead of copying everything else.
 *
 * - A sequential Huffman-coded scan is entropy-decoded by `jpeg_entropy.rs`
 *   when the request brings its hooks: libjpeg-turbo's `decode_mcu` is
 *   replaced once the scan has started, and libjpeg-turbo does the rest.
 *
 * Everything else follows tj3Decompress8 with the parameters decode/jpeg.rs
 * used to set: warnings (corrupt data, a premature end) are errors, a scan
 * limit, a memory limit, islow IDCT, smooth upsampling, and the crop made
 * with jpeg_crop_scanline and jpeg_skip_scanlines (rows below the crop are
 * never decoded). libjpeg reports errors with longjmp, which only ever
 * unwinds C frames here: the jump target is this function.
 */

#include <setjmp.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "jpeglib.h"
#include "jerror.h"

typedef struct {
  const unsigned char *start;
  size_t length;
} ff_span;

/* One DHT table, as `HuffmanSpec` in jpeg_entropy.rs. */
typedef struct {
  UINT8 bits[17];
  UINT8 values[256];
} ff_huffman_spec;

/* The scan's MCU, as `ScanLayout` in jpeg_entropy.rs. */
typedef struct {
  unsigned blocks;
  unsigned char component[10], dc_table[10], ac_table[10];
  unsigned restart_interval;
  unsigned mcus;
  const ff_huffman_spec *tables[8]; /* DC 0..3, then AC 0..3 */
} ff_scan_layout;

/* The entropy decoder of jpeg_entropy.rs: `start` returns NULL with `error`
   set when it cannot take the scan; `decode_mcu` returns NULL on success
   and sets `position`, the bytes of `data` it has read. */
typedef struct {
  void *(*start)(const ff_scan_layout *layout, const JOCTET *data,
                 size_t length, const char **error);
  const char *(*decode_mcu)(void *decoder, JBLOCKROW *blocks,
                            size_t *position);
  void (*finish)(void *decoder);
} ff_entropy_hooks;

typedef struct {
  unsigned denom;
  unsigned left, top, width, height; /* the crop, in scaled pixels */
  int gray;                          /* else RGB */
  int max_scans;
  long max_memory_mb;
  const ff_entropy_hooks *entropy; /* NULL: libjpeg-turbo's own */
  /* Where crop row `index` goes (`width` pixels): asked for in order, each
     once the row before it is written. */
  unsigned char *(*row)(void *sink, unsigned index);
  void *sink;
} ff_request;

/* The head of libjpeg-turbo 3's entropy decoder (jpegint.h, which it does
   not install): only `decode_mcu` is replaced. */
struct jpeg_entropy_decoder {
  void (*start_pass)(j_decompress_ptr info);
  boolean (*decode_mcu)(j_decompress_ptr info, JBLOCKROW *blocks);
};

struct entropy_context {
  const ff_entropy_hooks *hooks;
  void *volatile decoder;
  const JOCTET *data;
  size_t length;
};

struct failure {
  struct jpeg_error_mgr pub;
  jmp_buf jump;
  char *message; /* JMSG_LENGTH_MAX bytes */
};

static void fail(j_common_ptr info)
{
  struct failure *failure = (struct failure *)info->err;

  (*info->err->format_message)(info, failure->message);
  longjmp(failure->jump, 1);
}

/* Level < 0 is a warning (corrupt data, premature end): an error here.
   Higher levels are trace messages. */
static void warn(j_common_ptr info, int level)
{
  if (level < 0) fail(info);
}

static void fail_with(j_common_ptr info, const char *message)
{
  struct failure *failure = (struct failure *)info->err;

  snprintf(failure->message, JMSG_LENGTH_MAX, "%s", message);
  longjmp(failure->jump, 1);
}

struct scan_limit {
  struct jpeg_progress_mgr pub;
  int max_scans;
};

static void limit_scans(j_common_ptr info)
{
  struct scan_limit *limit = (struct scan_limit *)info->progress;

  if (((j_decompress_ptr)info)->input_scan_number > limit->max_scans)
    fail_with(info, "the progressive JPEG has too many scans");
}

struct spans_source {
  struct jpeg_source_mgr pub;
  const ff_span *spans;
  size_t count, next;
};

static void start_source(j_decompress_ptr info)
{
  (void)info;
}

/* The next span; past the last one, a fake EOI after a warning, as
   libjpeg's memory source does. */
static boolean next_span(j_decompress_ptr info)
{
  static const JOCTET end[2] = { 0xFF, JPEG_EOI };
  struct spans_source *source = (struct spans_source *)info->src;

  while (source->next < source->count && source->spans[source->next].length == 0)
    source->next++;
  if (source->next == source->count) {
    WARNMS(info, JWRN_JPEG_EOF);
    source->pub.next_input_byte = end;
    source->pub.bytes_in_buffer = 2;
    return TRUE;
  }
  source->pub.next_input_byte = source->spans[source->next].start;
  source->pub.bytes_in_buffer = source->spans[source->next].length;
  source->next++;
  return TRUE;
}

static void skip_bytes(j_decompress_ptr info, long count)
{
  struct jpeg_source_mgr *source = info->src;

  if (count <= 0) return;
  while (count > (long)source->bytes_in_buffer) {
    count -= (long)source->bytes_in_buffer;
    (void)(*source->fill_input_buffer)(info);
  }
  source->next_input_byte += count;
  source->bytes_in_buffer -= (size_t)count;
}

static void end_source(j_decompress_ptr info)
{
  (void)info;
}

static boolean decode_mcu_with_hooks(j_decompress_ptr info, JBLOCKROW *blocks)
{
  struct entropy_context *context = (struct entropy_context *)info->client_data;
  size_t position = 0;
  const char *error =
    context->hooks->decode_mcu(context->decoder, blocks, &position);

  if (error) fail_with((j_common_ptr)info, error);
  /* Where libjpeg's marker reader goes on once the scan is done. */
  info->src->next_input_byte = context->data + position;
  info->src->bytes_in_buffer = context->length - position;
  return TRUE;
}

static void copy_table(ff_huffman_spec *spec, const JHUFF_TBL *table)
{
  memcpy(spec->bits, table->bits, sizeof(spec->bits));
  memcpy(spec->values, table->huffval, sizeof(spec->values));
}

/* Hands a sequential Huffman scan of 8-bit samples, which libjpeg-turbo has
   just started, to the hooks' decoder; any other scan stays libjpeg's. */
static void use_entropy_hooks(j_decompress_ptr info,
                              struct entropy_context *context,
                              const ff_entropy_hooks *hooks,
                              ff_huffman_spec specs[8])
{
  ff_scan_layout layout;
  const char *error = "the entropy decoder did not start";
  int block, ci;

  if (!hooks || info->progressive_mode || info->arith_code ||
      jpeg_has_multiple_scans(info) || info->data_precision != 8 ||
      info->blocks_in_MCU > 10 || info->comps_in_scan > 4)
    return;
  memset(&layout, 0, sizeof(layout));
  layout.blocks = (unsigned)info->blocks_in_MCU;
  layout.restart_interval = info->restart_interval;
  layout.mcus = info->MCUs_per_row * info->MCU_rows_in_scan;
  for (block = 0; block < info->blocks_in_MCU; block++) {
    const jpeg_component_info *component =
      info->cur_comp_info[info->MCU_membership[block]];

    layout.component[block] = (unsigned char)info->MCU_membership[block];
    layout.dc_table[block] = (unsigned char)component->dc_tbl_no;
    layout.ac_table[block] = (unsigned char)component->ac_tbl_no;
  }
  for (ci = 0; ci < 4; ci++) {
    if (info->dc_huff_tbl_ptrs[ci]) {
      copy_table(&specs[ci], info->dc_huff_tbl_ptrs[ci]);
      layout.tables[ci] = &specs[ci];
    }
    if (info->ac_huff_tbl_ptrs[ci]) {
      copy_table(&specs[4 + ci], info->ac_huff_tbl_ptrs[ci]);
      layout.tables[4 + ci] = &specs[4 + ci];
    }
  }
  context->hooks = hooks;
  context->data = info->src->next_input_byte;
  context->length = info->src->bytes_in_buffer;
  context->decoder = hooks->start(&layout, context->data, context->length, &error);
  if (!context->decoder) fail_with((j_common_ptr)info, error);
  info->client_data = context;
  info->entropy->decode_mcu = decode_mcu_with_hooks;
}

static void finish_entropy_hooks(struct entropy_context *context)
{
  if (context->decoder) context->hooks->finish(context->decoder);
  context->decoder = NULL;
}

/* Decodes the JPEG made of `spans` at 1/denom, the crop's rows to
   `request->row`. 0 on success; -1 with `message` set on any error. */
int ff_jpeg_decode_scaled(const ff_span *spans, size_t count,
                          const ff_request *request, char *message)
{
  struct jpeg_decompress_struct info;
  struct failure failure;
  struct scan_limit limit;
  struct spans_source source;
  struct entropy_context entropy;
  ff_huffman_spec specs[8];
  JDIMENSION left = request->left, width = request->width, row;

  memset(&info, 0, sizeof(info));
  info.err = jpeg_std_error(&failure.pub);
  failure.pub.error_exit = fail;
  failure.pub.emit_message = warn;
  failure.message = message;
  memset(&entropy, 0, sizeof(entropy));
  if (setjmp(failure.jump)) {
    finish_entropy_hooks(&entropy);
    jpeg_destroy_decompress(&info);
    return -1;
  }
  jpeg_create_decompress(&info);
  info.mem->max_memory_to_use = request->max_memory_mb * 1048576L;
  memset(&limit, 0, sizeof(limit));
  limit.pub.progress_monitor = limit_scans;
  limit.max_scans = request->max_scans;
  info.progress = &limit.pub;
  memset(&source, 0, sizeof(source));
  source.pub.init_source = start_source;
  source.pub.fill_input_buffer = next_span;
  source.pub.skip_input_data = skip_bytes;
  source.pub.resync_to_restart = jpeg_resync_to_restart;
  source.pub.term_source = end_source;
  source.spans = spans;
  source.count = count;
  info.src = &source.pub;

  jpeg_read_header(&info, TRUE);
  info.scale_num = 1;
  info.scale_denom = request->denom;
  info.out_color_space = request->gray ? JCS_GRAYSCALE : JCS_RGB;
  info.dct_method = JDCT_ISLOW;
  info.do_fancy_upsampling = TRUE;
  info.do_block_smoothing = FALSE;
  jpeg_start_decompress(&info);
  use_entropy_hooks(&info, &entropy, request->entropy, specs);
  if (info.output_components != (request->gray ? 1 : 3) ||
      request->top + request->height > info.output_height ||
      request->left + request->width > info.output_width)
    fail_with((j_common_ptr)&info, "the JPEG does not match its header");
  if (left != 0 || width != info.output_width) {
    jpeg_crop_scanline(&info, &left, &width);
    if (left != request->left || width != request->width)
      fail_with((j_common_ptr)&info, "the crop is not on the JPEG's MCU grid");
  }
  if (request->top != 0 &&
      jpeg_skip_scanlines(&info, request->top) != request->top)
    fail_with((j_common_ptr)&info, "the JPEG ended above the crop");
  for (row = 0; row < request->height; ) {
    JSAMPROW rows[1] = { request->row(request->sink, row) };
    JDIMENSION read = jpeg_read_scanlines(&info, rows, 1);

    /* The source never suspends, so no row means no progress: stop. */
    if (read == 0)
      fail_with((j_common_ptr)&info, "the JPEG gave no more rows");
    row += read;
  }
  if (info.output_scanline < info.output_height)
    jpeg_skip_scanlines(&info, info.output_height - info.output_scanline);
  jpeg_finish_decompress(&info);
  finish_entropy_hooks(&entropy);
  jpeg_destroy_decompress(&info);
  return 0;
}
