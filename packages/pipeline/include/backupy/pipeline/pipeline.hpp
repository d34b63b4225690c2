#pragma once
// The backup data path, assembled (docs/architecture.md, "Backup data path"):
//
//   source ─► stop check ─► CountingSink (raw bytes) ─► compressor ─► [BlobWriter]
//          ─► HashingSink (sha256 of the stored bytes) ─► disk budget ─► FileSink (spool)
//
// Everything runs synchronously on the calling (worker) thread with fixed
// buffers, so memory does not grow with the dump and a slow stage throttles
// the source. A spool file exists after run_pipeline() only if it returned:
// every failure removes the partial file before the exception propagates.
#include <array>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <stdexcept>
#include <stop_token>
#include <string>

#include "backupy/compress/codec.hpp"
#include "backupy/stream/byte_sink.hpp"
#include "backupy/stream/cancelled.hpp"

namespace backupy::pipeline {

struct PipelineOptions {
  compress::Codec codec = compress::Codec::zstd;
  compress::CompressOptions compress;  // level, workers
  // The run's data encryption key; nullopt = encryption disabled (no blob layer).
  std::optional<std::array<std::uint8_t, 32>> dek;
  // Created exclusively (mode 0600); must not exist.
  std::filesystem::path spool_path;
  // Disk budget for this spool file; 0 = unlimited.
  std::uint64_t max_spool_bytes = 0;
  // on_progress is called with the raw byte total after each write that
  // crosses a multiple of this (and once at the end); must be > 0 when
  // on_progress is set.
  std::uint64_t progress_every_bytes = 8 << 20;
  // Called on the calling thread, inside the chain; may throw to abort the run.
  std::function<void(std::uint64_t raw_bytes)> on_progress;
};

struct PipelineResult {
  std::uint64_t raw_bytes = 0;     // what the source produced
  std::uint64_t stored_bytes = 0;  // the spool file's size
  std::string sha256_hex;          // of exactly the spool file's bytes
  std::string compression;         // what was really used: "zstd" | "gzip" | "none"
};

// The spool would grow past PipelineOptions::max_spool_bytes.
class BudgetExceeded : public std::runtime_error {
 public:
  explicit BudgetExceeded(std::uint64_t budget_bytes);
  std::uint64_t budget_bytes() const { return budget_bytes_; }

 private:
  std::uint64_t budget_bytes_;
};

// The stop token was triggered (checked before every write into the chain and
// before the stream is finished): stream::Cancelled propagates.

// Runs source(sink) on the calling thread, then finishes the chain; on
// success the spool file is fsynced (file and directory) and kept. On any
// exception (from the source, a stage, ENOSPC as stream::NoSpaceError, the
// budget, the stop token, on_progress) the partial spool file is removed and
// the exception propagates unchanged. If spool_path already exists, the
// std::system_error from FileSink propagates and that file is left alone.
// The source must not finish the sink: returning means "the stream is complete".
// std::invalid_argument for an empty spool_path, a zero progress interval with
// on_progress set, or compression options the codec rejects.
PipelineResult run_pipeline(const std::function<void(stream::ByteSink&)>& source,
                            const PipelineOptions& options, std::stop_token stop = {});

}  // namespace backupy::pipeline
