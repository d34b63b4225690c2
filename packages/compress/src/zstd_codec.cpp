// zstd frames with a content checksum, streamed through fixed buffers.
#include <zstd.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "backupy/core/log.hpp"
#include "codecs.hpp"

namespace backupy::compress::detail {
namespace {

struct CCtxFree {
  void operator()(ZSTD_CCtx* ctx) const { ZSTD_freeCCtx(ctx); }
};
struct DCtxFree {
  void operator()(ZSTD_DCtx* ctx) const { ZSTD_freeDCtx(ctx); }
};
using CCtx = std::unique_ptr<ZSTD_CCtx, CCtxFree>;
using DCtx = std::unique_ptr<ZSTD_DCtx, DCtxFree>;

constexpr int kDefaultLevel = 3;

// Setting a parameter fails only on misuse or an impossible value; both are
// bugs here, so they are not FormatErrors.
void set_parameter(ZSTD_CCtx* ctx, ZSTD_cParameter parameter, int value, const char* name) {
  const std::size_t rc = ZSTD_CCtx_setParameter(ctx, parameter, value);
  if (ZSTD_isError(rc)) {
    throw std::runtime_error(std::string("cannot set zstd ") + name + " to " +
                             std::to_string(value) + ": " + ZSTD_getErrorName(rc));
  }
}

class ZstdCompressor : public stream::ByteSink {
 public:
  ZstdCompressor(CompressOptions options, stream::ByteSink& next)
      : next_(next), ctx_(ZSTD_createCCtx()), out_(ZSTD_CStreamOutSize()) {
    if (!ctx_) throw std::bad_alloc();
    const int level = options.level == 0 ? kDefaultLevel : options.level;
    const ZSTD_bounds levels = ZSTD_cParam_getBounds(ZSTD_c_compressionLevel);
    // zstd would clamp silently; a level the operator did not get is a config bug.
    if (level < levels.lowerBound || level > levels.upperBound) {
      throw std::invalid_argument("zstd level " + std::to_string(level) + " is out of range [" +
                                  std::to_string(levels.lowerBound) + ", " +
                                  std::to_string(levels.upperBound) + "]");
    }
    if (options.workers < 0) {
      throw std::invalid_argument("zstd workers must be >= 0, got " +
                                  std::to_string(options.workers));
    }
    set_parameter(ctx_.get(), ZSTD_c_compressionLevel, level, "level");
    // The checksum verifies the plaintext end to end (restore, `zstd -t`),
    // independently of the encryption layer's authentication.
    set_parameter(ctx_.get(), ZSTD_c_checksumFlag, 1, "checksum flag");
    if (options.workers > 0) {
      const std::size_t rc = ZSTD_CCtx_setParameter(ctx_.get(), ZSTD_c_nbWorkers, options.workers);
      if (ZSTD_isError(rc)) {
        // A libzstd built without ZSTD_MULTITHREAD refuses nbWorkers; the
        // backup still works single-threaded, only slower. (Debian 12's
        // libzstd 1.5.4 accepts it; compress_tests checks that.)
        core::Logger("compress")
            .warn("zstd workers unavailable, compressing single-threaded",
                  {{"workers", options.workers}, {"reason", ZSTD_getErrorName(rc)}});
        set_parameter(ctx_.get(), ZSTD_c_nbWorkers, 0, "workers");
      }
    }
  }

  using stream::ByteSink::write;
  void write(std::span<const std::uint8_t> data) override {
    if (finished_) throw std::logic_error("write after finish on a zstd compressor");
    ZSTD_inBuffer in{data.data(), data.size(), 0};
    // With workers, a call may consume input without producing output (and
    // vice versa); loop until all input is taken.
    while (in.pos < in.size) compress(in, ZSTD_e_continue);
  }

  void finish() override {
    if (finished_) throw std::logic_error("finish called twice on a zstd compressor");
    ZSTD_inBuffer in{nullptr, 0, 0};
    // ZSTD_e_end returns how much is left to flush; 0 when the frame is complete.
    while (compress(in, ZSTD_e_end) != 0) {
    }
    finished_ = true;
    next_.finish();
  }

 private:
  std::size_t compress(ZSTD_inBuffer& in, ZSTD_EndDirective mode) {
    ZSTD_outBuffer out{out_.data(), out_.size(), 0};
    const std::size_t rc = ZSTD_compressStream2(ctx_.get(), &out, &in, mode);
    if (ZSTD_isError(rc)) {
      throw std::runtime_error(std::string("zstd compression failed: ") + ZSTD_getErrorName(rc));
    }
    if (out.pos > 0) next_.write(std::span(out_.data(), out.pos));
    return rc;
  }

  stream::ByteSink& next_;
  CCtx ctx_;
  std::vector<std::uint8_t> out_;  // ZSTD_CStreamOutSize(): one full block, fixed
  bool finished_ = false;
};

class ZstdDecompressor : public stream::ByteSink {
 public:
  explicit ZstdDecompressor(stream::ByteSink& next)
      : next_(next), ctx_(ZSTD_createDCtx()), out_(ZSTD_DStreamOutSize()) {
    // The default window limit (ZSTD_WINDOWLOG_LIMIT_DEFAULT, 128 MiB) is kept
    // on purpose: it bounds memory even for a hostile input, and our
    // compressor's levels stay far below it.
    if (!ctx_) throw std::bad_alloc();
  }

  using stream::ByteSink::write;
  void write(std::span<const std::uint8_t> data) override {
    if (finished_) throw std::logic_error("write after finish on a zstd decompressor");
    if (magic_size_ < magic_.size()) {
      // The magic may arrive split across writes; collect it before judging.
      const std::size_t take = std::min(magic_.size() - magic_size_, data.size());
      std::copy_n(data.begin(), take, magic_.begin() + static_cast<std::ptrdiff_t>(magic_size_));
      magic_size_ += take;
      data = data.subspan(take);
      if (magic_size_ < magic_.size()) return;
      check_magic();
      decompress(magic_);
    }
    decompress(data);
  }

  void finish() override {
    if (finished_) throw std::logic_error("finish called twice on a zstd decompressor");
    // Also an empty input: a zstd stream has at least one frame.
    if (magic_size_ < magic_.size() || in_frame_) throw FormatError("truncated zstd stream");
    finished_ = true;
    next_.finish();
  }

 private:
  void check_magic() const {
    const std::uint32_t magic =
        static_cast<std::uint32_t>(magic_[0]) | static_cast<std::uint32_t>(magic_[1]) << 8 |
        static_cast<std::uint32_t>(magic_[2]) << 16 | static_cast<std::uint32_t>(magic_[3]) << 24;
    const bool skippable = (magic & ZSTD_MAGIC_SKIPPABLE_MASK) == ZSTD_MAGIC_SKIPPABLE_START;
    if (magic != ZSTD_MAGICNUMBER && !skippable) {
      throw FormatError("not a zstd stream (bad magic)");
    }
  }

  void decompress(std::span<const std::uint8_t> data) {
    if (data.empty()) return;
    ZSTD_inBuffer in{data.data(), data.size(), 0};
    for (;;) {
      ZSTD_outBuffer out{out_.data(), out_.size(), 0};
      const std::size_t rc = ZSTD_decompressStream(ctx_.get(), &out, &in);
      if (ZSTD_isError(rc)) {
        throw FormatError(std::string("corrupt zstd stream: ") + ZSTD_getErrorName(rc));
      }
      // 0 means a frame ended and was fully flushed; further input starts a
      // new frame (concatenated frames are valid zstd).
      in_frame_ = rc != 0;
      if (out.pos > 0) next_.write(std::span(out_.data(), out.pos));
      if (in.pos < in.size) continue;
      // All input taken. A full output buffer may leave decoded bytes inside
      // the context, unless the frame just ended: then nothing is pending,
      // and another call would begin a new frame and misreport it as open.
      if (out.pos < out.size || !in_frame_) break;
    }
  }

  stream::ByteSink& next_;
  DCtx ctx_;
  std::vector<std::uint8_t> out_;  // ZSTD_DStreamOutSize(): one full block, fixed
  std::array<std::uint8_t, 4> magic_{};
  std::size_t magic_size_ = 0;
  bool in_frame_ = false;
  bool finished_ = false;
};

}  // namespace

std::unique_ptr<stream::ByteSink> make_zstd_compressor(CompressOptions options,
                                                       stream::ByteSink& next) {
  return std::make_unique<ZstdCompressor>(options, next);
}

std::unique_ptr<stream::ByteSink> make_zstd_decompressor(stream::ByteSink& next) {
  return std::make_unique<ZstdDecompressor>(next);
}

}  // namespace backupy::compress::detail
