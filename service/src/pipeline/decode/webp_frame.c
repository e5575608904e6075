/* Lossy WebP through libwebp with our own VP8 token decoder.
 *
 * libwebp keeps everything but the residual tokens: RIFF and frame headers,
 * intra modes, reconstruction, cropping, scaling, colour and alpha. Its
 * `WebPDecode` is replayed here step by step (the same internal calls as its
 * `DecodeInto` and `VP8Decode`) so that the macroblock loop can hand each
 * macroblock's tokens to the hooks' decoder instead of libwebp's
 * `VP8DecodeMB`, which lives behind a static function pointer. Lossless
 * files, and requests without hooks, take `WebPDecode` itself.
 *
 * The hooks are a table of function pointers passed with each request (no
 * link-time symbol from C to Rust), as in `jpeg_scaled.c`. */

#include <stddef.h>
#include <string.h>

#include "src/dec/vp8i_dec.h"
#include "src/dec/webpi_dec.h"
#include "src/webp/decode.h"

/* `vp8_tokens::Partition` in Rust: one token partition's boolean decoder,
   in libwebp's own representation so that both decode every bit alike. */
typedef struct {
  uint64_t value;
  uint32_t range;
  int32_t bits;
  const uint8_t *buf, *buf_end, *buf_max;
  int32_t eof;
} ff_vp8_partition;

/* `vp8_tokens::ModeLayout`: where a macroblock's header goes in
   `VP8MBData`, and the frame's header probabilities. */
typedef struct {
  uint32_t block_size, at_is_i4x4, at_imodes, at_uvmode, at_skip, at_segment;
  uint8_t update_map, segment_probas[3], use_skip_proba, skip_proba;
} ff_vp8_mode_layout;

/* `vp8_tokens::FrameLayout`: what the token decoder needs of the frame. */
typedef struct {
  ff_vp8_partition parts[MAX_NUM_PARTITIONS];
  uint32_t num_parts;
  const uint8_t *bands; /* [NUM_TYPES][NUM_BANDS][NUM_CTX][NUM_PROBAS] */
  int32_t quant[NUM_MB_SEGMENTS][6]; /* y1 dc/ac, y2 dc/ac, uv dc/ac */
  int32_t dither[NUM_MB_SEGMENTS];
  ff_vp8_partition modes; /* the first partition, at the macroblock headers */
  ff_vp8_mode_layout mode_layout;
} ff_vp8_frame;

/* `vp8_tokens::Macroblock`: one macroblock's inputs and outputs. */
typedef struct {
  int16_t *coeffs;  /* 384, zeroed by the decoder */
  VP8MB *top, *left;
  uint32_t non_zero_y, non_zero_uv;
  uint8_t is_i4x4, segment, dither;
} ff_vp8_macroblock;

typedef struct {
  void *(*start)(const ff_vp8_frame *frame);
  /* Returns 1 when every coefficient is zero; sets `*eof` once the
     partition ran past its end. */
  int (*decode_mb)(void *decoder, uint32_t part, ff_vp8_macroblock *mb,
                   int *eof);
  /* libwebp's VP8ParseIntraModeRow: 0 once the first partition ran out. */
  int (*parse_modes)(void *decoder, uint8_t *top, uint8_t *left,
                     VP8MBData *blocks, uint32_t width);
  void (*finish)(void *decoder);
} ff_vp8_hooks;

_Static_assert(sizeof(VP8MB) == 2, "VP8MB is { nz, nz_dc }");
_Static_assert(sizeof(VP8BandProbas) == NUM_CTX * NUM_PROBAS,
               "band probabilities are packed");

static void copy_reader(ff_vp8_partition *to, const VP8BitReader *br)
{
  to->value = br->value;
  to->range = br->range;
  to->bits = br->bits;
  to->buf = br->buf;
  to->buf_end = br->buf_end;
  to->buf_max = br->buf_max;
  to->eof = br->eof;
}

static void *start_tokens(const VP8Decoder *dec, const ff_vp8_hooks *hooks)
{
  ff_vp8_frame frame;
  ff_vp8_mode_layout *modes = &frame.mode_layout;
  uint32_t i;
  memset(&frame, 0, sizeof(frame));
  frame.num_parts = dec->num_parts_minus_one + 1;
  for (i = 0; i < frame.num_parts; ++i) {
    copy_reader(&frame.parts[i], &dec->parts[i]);
  }
  copy_reader(&frame.modes, &dec->br);
  modes->block_size = sizeof(VP8MBData);
  modes->at_is_i4x4 = offsetof(VP8MBData, is_i4x4);
  modes->at_imodes = offsetof(VP8MBData, imodes);
  modes->at_uvmode = offsetof(VP8MBData, uvmode);
  modes->at_skip = offsetof(VP8MBData, skip);
  modes->at_segment = offsetof(VP8MBData, segment);
  modes->update_map = (uint8_t)dec->segment_hdr.update_map;
  memcpy(modes->segment_probas, dec->proba.segments, 3);
  modes->use_skip_proba = (uint8_t)dec->use_skip_proba;
  modes->skip_proba = dec->skip_p;
  frame.bands = &dec->proba.bands[0][0].probas[0][0];
  for (i = 0; i < NUM_MB_SEGMENTS; ++i) {
    const VP8QuantMatrix *q = &dec->dqm[i];
    const int values[6] = {q->y1_mat[0], q->y1_mat[1], q->y2_mat[0],
                           q->y2_mat[1], q->uv_mat[0], q->uv_mat[1]};
    memcpy(frame.quant[i], values, sizeof(values));
    frame.dither[i] = q->dither;
  }
  return hooks->start(&frame);
}

/* libwebp's VP8DecodeMB, with ParseResiduals in the hooks' decoder.
   `*part_eof` is the token partition's end-of-data flag, which libwebp
   answers with for a skipped macroblock too: a partition that is empty
   from the start fails every macroblock of its rows. */
static int decode_mb(VP8Decoder *dec, const ff_vp8_hooks *hooks, void *tokens,
                     uint32_t part, int *part_eof)
{
  VP8MB *const left = dec->mb_info - 1;
  VP8MB *const mb = dec->mb_info + dec->mb_x;
  VP8MBData *const block = dec->mb_data + dec->mb_x;
  int skip = dec->use_skip_proba ? block->skip : 0;
  int eof = *part_eof;

  if (!skip) {
    ff_vp8_macroblock io = {block->coeffs, mb, left, 0, 0,
                            block->is_i4x4, block->segment, 0};
    skip = hooks->decode_mb(tokens, part, &io, &eof);
    block->non_zero_y = io.non_zero_y;
    block->non_zero_uv = io.non_zero_uv;
    block->dither = io.dither;
  } else {
    left->nz = mb->nz = 0;
    if (!block->is_i4x4) left->nz_dc = mb->nz_dc = 0;
    block->non_zero_y = 0;
    block->non_zero_uv = 0;
    block->dither = 0;
  }
  if (dec->filter_type > 0) {
    VP8FInfo *const finfo = dec->f_info + dec->mb_x;
    *finfo = dec->fstrengths[block->segment][block->is_i4x4];
    finfo->f_inner |= !skip;
  }
  *part_eof = eof;
  return !eof;
}

/* libwebp's ParseFrame. */
static int parse_frame(VP8Decoder *dec, VP8Io *io, const ff_vp8_hooks *hooks,
                       void *tokens)
{
  int part_eof[MAX_NUM_PARTITIONS];
  int i;
  for (i = 0; i < MAX_NUM_PARTITIONS; ++i) part_eof[i] = dec->parts[i].eof;
  for (dec->mb_y = 0; dec->mb_y < dec->br_mb_y; ++dec->mb_y) {
    const uint32_t part = dec->mb_y & dec->num_parts_minus_one;
    if (!hooks->parse_modes(tokens, dec->intra_t, dec->intra_l, dec->mb_data,
                            (uint32_t)dec->mb_w)) {
      return VP8SetError(dec, VP8_STATUS_NOT_ENOUGH_DATA,
                         "Premature end-of-partition0 encountered.");
    }
    for (; dec->mb_x < dec->mb_w; ++dec->mb_x) {
      if (!decode_mb(dec, hooks, tokens, part, &part_eof[part])) {
        return VP8SetError(dec, VP8_STATUS_NOT_ENOUGH_DATA,
                           "Premature end-of-file encountered.");
      }
    }
    VP8InitScanline(dec);
    if (!VP8ProcessRow(dec, io)) {
      return VP8SetError(dec, VP8_STATUS_USER_ABORT, "Output aborted.");
    }
  }
  if (dec->mt_method > 0) {
    if (!WebPGetWorkerInterface()->Sync(&dec->worker)) return 0;
  }
  return 1;
}

/* libwebp's VP8Decode once the headers are read. */
static int decode_frame(VP8Decoder *dec, VP8Io *io, const ff_vp8_hooks *hooks)
{
  int ok = (VP8EnterCritical(dec, io) == VP8_STATUS_OK);
  if (ok) {
    void *tokens = NULL;
    ok = VP8InitFrame(dec, io);
    if (ok) {
      tokens = start_tokens(dec, hooks);
      ok = tokens != NULL ? parse_frame(dec, io, hooks, tokens)
                          : VP8SetError(dec, VP8_STATUS_OUT_OF_MEMORY,
                                        "no token decoder");
    }
    if (tokens != NULL) hooks->finish(tokens);
    ok &= VP8ExitCritical(dec, io);
  }
  if (!ok) {
    VP8Clear(dec);
    return 0;
  }
  dec->ready = 0;
  return ok;
}

/* libwebp's WebPDecode for a still lossy image; anything else, and a
   request without hooks, goes to WebPDecode itself. */
VP8StatusCode flipframe_webp_decode(const uint8_t *data, size_t data_size,
                                    WebPDecoderConfig *config,
                                    const ff_vp8_hooks *hooks)
{
  WebPDecParams params;
  WebPHeaderStructure headers;
  VP8StatusCode status;
  VP8Io io;
  VP8Decoder *dec;

  if (hooks == NULL || config->output.is_external_memory >= 2) {
    return WebPDecode(data, data_size, config);
  }
  status = WebPGetFeatures(data, data_size, &config->input);
  if (status != VP8_STATUS_OK) {
    return status == VP8_STATUS_NOT_ENOUGH_DATA ? VP8_STATUS_BITSTREAM_ERROR
                                                : status;
  }
  WebPResetDecParams(&params);
  params.options = &config->options;
  params.output = &config->output;

  memset(&headers, 0, sizeof(headers));
  headers.data = data;
  headers.data_size = data_size;
  headers.have_all_data = 1;
  status = WebPParseHeaders(&headers);
  if (status != VP8_STATUS_OK) return status;
  if (headers.is_lossless) return WebPDecode(data, data_size, config);

  if (!VP8InitIo(&io)) return VP8_STATUS_INVALID_PARAM;
  io.data = headers.data + headers.offset;
  io.data_size = headers.data_size - headers.offset;
  WebPInitCustomIo(&params, &io);

  dec = VP8New();
  if (dec == NULL) return VP8_STATUS_OUT_OF_MEMORY;
  dec->alpha_data = headers.alpha_data;
  dec->alpha_data_size = headers.alpha_data_size;
  if (!VP8GetHeaders(dec, &io)) {
    status = dec->status;
  } else {
    status = WebPAllocateDecBuffer(io.width, io.height, params.options,
                                   params.output);
    if (status == VP8_STATUS_OK) {
      dec->mt_method =
          VP8GetThreadMethod(params.options, &headers, io.width, io.height);
      VP8InitDithering(params.options, dec);
      if (!decode_frame(dec, &io, hooks)) status = dec->status;
    }
  }
  VP8Delete(dec);

  if (status != VP8_STATUS_OK) {
    WebPFreeDecBuffer(params.output);
  } else if (params.options != NULL && params.options->flip) {
    status = WebPFlipBuffer(params.output);
  }
  return status;
}
