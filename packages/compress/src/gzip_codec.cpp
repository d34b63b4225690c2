// gzip (RFC 1952) through zlib, for targets that want tools without zstd.
//
// ZLIB_CONST makes next_in a pointer to const, so input spans need no cast.
#define ZLIB_CONST
#include <zlib.h>

#include <algorithm>
#include <array>
#include <climits>
#include <cstdint>
#include <new>
#include <stdexcept>
#include <string>
#include <vector>

#include "codecs.hpp"

namespace backupy::compress::detail {
namespace {

constexpr int kDefaultLevel = 6;          // what gzip(1) uses
constexpr int kGzipWindowBits = 15 + 16;  // 32 KiB window, gzip header and trailer
constexpr std::size_t kOutSize = 128 * 1024;
// zlib's counters are uInt; larger spans are fed in pieces.
constexpr std::size_t kMaxChunk = UINT_MAX / 2;

// z_stream owns heap state that points back at the z_stream itself, so the
// owner must neither copy nor move it; deflateEnd/inflateEnd run on scope exit.
class Deflater {
 public:
  explicit Deflater(int level) {
    const int rc = deflateInit2(&zs_, level, Z_DEFLATED, kGzipWindowBits, 8, Z_DEFAULT_STRATEGY);
    if (rc == Z_MEM_ERROR) throw std::bad_alloc();
    if (rc != Z_OK) throw std::runtime_error("cannot initialize gzip compressor: " + error(rc));
  }
  ~Deflater() { deflateEnd(&zs_); }
  Deflater(const Deflater&) = delete;
  Deflater& operator=(const Deflater&) = delete;

  z_stream* get() { return &zs_; }
  std::string error(int rc) const { return zs_.msg != nullptr ? zs_.msg : zError(rc); }

 private:
  z_stream zs_{};
};

class Inflater {
 public:
  Inflater() {
    // gzip only (15 + 16), not zlib auto-detection (15 + 32): the magic is
    // checked up front and every later member must be gzip as well.
    const int rc = inflateInit2(&zs_, kGzipWindowBits);
    if (rc == Z_MEM_ERROR) throw std::bad_alloc();
    if (rc != Z_OK) throw std::runtime_error("cannot initialize gzip decompressor: " + error(rc));
  }
  ~Inflater() { inflateEnd(&zs_); }
  Inflater(const Inflater&) = delete;
  Inflater& operator=(const Inflater&) = delete;

  z_stream* get() { return &zs_; }
  std::string error(int rc) const { return zs_.msg != nullptr ? zs_.msg : zError(rc); }

 private:
  z_stream zs_{};
};

class GzipCompressor : public stream::ByteSink {
 public:
  GzipCompressor(CompressOptions options, stream::ByteSink& next)
      : next_(next), deflater_(checked_level(options.level)), out_(kOutSize) {}

  using stream::ByteSink::write;
  void write(std::span<const std::uint8_t> data) override {
    if (finished_) throw std::logic_error("write after finish on a gzip compressor");
    z_stream* zs = deflater_.get();
    while (!data.empty()) {
      const std::size_t chunk = std::min(data.size(), kMaxChunk);
      zs->next_in = data.data();
      zs->avail_in = static_cast<uInt>(chunk);
      // deflate stops when input is used up or output is full; a full output
      // buffer means there may be more, so go round again.
      do {
        deflate_into_out(Z_NO_FLUSH);
      } while (zs->avail_out == 0);
      data = data.subspan(chunk);
    }
  }

  void finish() override {
    if (finished_) throw std::logic_error("finish called twice on a gzip compressor");
    while (deflate_into_out(Z_FINISH) != Z_STREAM_END) {
    }
    finished_ = true;
    next_.finish();
  }

 private:
  static int checked_level(int level) {
    if (level == 0) return kDefaultLevel;
    if (level < 1 || level > 9) {
      throw std::invalid_argument("gzip level " + std::to_string(level) +
                                  " is out of range [1, 9]");
    }
    return level;
  }

  int deflate_into_out(int flush) {
    z_stream* zs = deflater_.get();
    zs->next_out = out_.data();
    zs->avail_out = static_cast<uInt>(out_.size());
    const int rc = deflate(zs, flush);
    // Z_BUF_ERROR only says "no progress possible", which the loops handle.
    if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR) {
      throw std::runtime_error("gzip compression failed: " + deflater_.error(rc));
    }
    const std::size_t produced = out_.size() - zs->avail_out;
    if (produced > 0) next_.write(std::span(out_.data(), produced));
    return rc;
  }

  stream::ByteSink& next_;
  Deflater deflater_;
  std::vector<std::uint8_t> out_;
  bool finished_ = false;
};

class GzipDecompressor : public stream::ByteSink {
 public:
  explicit GzipDecompressor(stream::ByteSink& next) : next_(next), out_(kOutSize) {}

  using stream::ByteSink::write;
  void write(std::span<const std::uint8_t> data) override {
    if (finished_) throw std::logic_error("write after finish on a gzip decompressor");
    if (magic_size_ < magic_.size()) {
      // The magic may arrive split across writes; collect it before judging.
      const std::size_t take = std::min(magic_.size() - magic_size_, data.size());
      std::copy_n(data.begin(), take, magic_.begin() + static_cast<std::ptrdiff_t>(magic_size_));
      magic_size_ += take;
      data = data.subspan(take);
      if (magic_size_ < magic_.size()) return;
      if (magic_[0] != 0x1f || magic_[1] != 0x8b)
        throw FormatError("not a gzip stream (bad magic)");
      inflate_all(magic_);
    }
    inflate_all(data);
  }

  void finish() override {
    if (finished_) throw std::logic_error("finish called twice on a gzip decompressor");
    // Also an empty input: a gzip stream has at least one member.
    if (magic_size_ < magic_.size() || in_member_) throw FormatError("truncated gzip stream");
    finished_ = true;
    next_.finish();
  }

 private:
  void inflate_all(std::span<const std::uint8_t> data) {
    z_stream* zs = inflater_.get();
    while (!data.empty()) {
      if (!in_member_) {
        // Concatenated members are valid gzip (gzip -dc reads them all).
        if (members_ > 0 && inflateReset(zs) != Z_OK) {
          throw std::runtime_error("cannot reset gzip decompressor");
        }
        in_member_ = true;
      }
      const std::size_t chunk = std::min(data.size(), kMaxChunk);
      zs->next_in = data.data();
      zs->avail_in = static_cast<uInt>(chunk);
      int rc = Z_OK;
      do {
        zs->next_out = out_.data();
        zs->avail_out = static_cast<uInt>(out_.size());
        rc = inflate(zs, Z_NO_FLUSH);
        switch (rc) {
          case Z_OK:
          case Z_STREAM_END:
          case Z_BUF_ERROR:  // no progress possible: input used up exactly
            break;
          case Z_NEED_DICT: throw FormatError("corrupt gzip stream: needs a preset dictionary");
          case Z_DATA_ERROR: throw FormatError("corrupt gzip stream: " + inflater_.error(rc));
          case Z_MEM_ERROR: throw std::bad_alloc();
          default: throw std::runtime_error("gzip decompression failed: " + inflater_.error(rc));
        }
        const std::size_t produced = out_.size() - zs->avail_out;
        if (produced > 0) next_.write(std::span(out_.data(), produced));
      } while (rc != Z_STREAM_END && zs->avail_out == 0);
      const std::size_t consumed = chunk - zs->avail_in;
      if (rc == Z_STREAM_END) {
        in_member_ = false;
        ++members_;
      } else if (consumed == 0) {
        // Cannot happen with room in both buffers; guards against spinning.
        throw std::runtime_error("gzip decompressor made no progress");
      }
      // At a member's end the rest of the chunk belongs to the next member.
      data = data.subspan(consumed);
    }
  }

  stream::ByteSink& next_;
  Inflater inflater_;
  std::vector<std::uint8_t> out_;
  std::array<std::uint8_t, 2> magic_{};
  std::size_t magic_size_ = 0;
  bool in_member_ = false;
  std::uint64_t members_ = 0;
  bool finished_ = false;
};

}  // namespace

std::unique_ptr<stream::ByteSink> make_gzip_compressor(CompressOptions options,
                                                       stream::ByteSink& next) {
  return std::make_unique<GzipCompressor>(options, next);
}

std::unique_ptr<stream::ByteSink> make_gzip_decompressor(stream::ByteSink& next) {
  return std::make_unique<GzipDecompressor>(next);
}

}  // namespace backupy::compress::detail
