#include "backupy/compress/codec.hpp"

#include <stdexcept>
#include <string>

#include "codecs.hpp"

namespace backupy::compress {
namespace detail {
namespace {

class Passthrough : public stream::ByteSink {
 public:
  explicit Passthrough(stream::ByteSink& next) : next_(next) {}

  using stream::ByteSink::write;
  void write(std::span<const std::uint8_t> data) override {
    if (finished_) throw std::logic_error("write after finish on an uncompressed stream");
    next_.write(data);
  }
  void finish() override {
    if (finished_) throw std::logic_error("finish called twice on an uncompressed stream");
    finished_ = true;
    next_.finish();
  }

 private:
  stream::ByteSink& next_;
  bool finished_ = false;
};

}  // namespace

std::unique_ptr<stream::ByteSink> make_passthrough(stream::ByteSink& next) {
  return std::make_unique<Passthrough>(next);
}

}  // namespace detail

std::optional<Codec> parse_codec(std::string_view name) {
  if (name.empty() || name == "zstd") return Codec::zstd;
  if (name == "gzip") return Codec::gzip;
  if (name == "none") return Codec::none;
  return std::nullopt;
}

std::string_view to_string(Codec codec) {
  switch (codec) {
    case Codec::zstd: return "zstd";
    case Codec::gzip: return "gzip";
    case Codec::none: return "none";
  }
  throw std::invalid_argument("unknown codec " + std::to_string(static_cast<int>(codec)));
}

std::unique_ptr<stream::ByteSink> make_compressor(Codec codec, CompressOptions options,
                                                  stream::ByteSink& next) {
  switch (codec) {
    case Codec::zstd: return detail::make_zstd_compressor(options, next);
    case Codec::gzip: return detail::make_gzip_compressor(options, next);
    case Codec::none: return detail::make_passthrough(next);
  }
  throw std::invalid_argument("unknown codec " + std::to_string(static_cast<int>(codec)));
}

std::unique_ptr<stream::ByteSink> make_decompressor(Codec codec, stream::ByteSink& next) {
  switch (codec) {
    case Codec::zstd: return detail::make_zstd_decompressor(next);
    case Codec::gzip: return detail::make_gzip_decompressor(next);
    case Codec::none: return detail::make_passthrough(next);
  }
  throw std::invalid_argument("unknown codec " + std::to_string(static_cast<int>(codec)));
}

}  // namespace backupy::compress
