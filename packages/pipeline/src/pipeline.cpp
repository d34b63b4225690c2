#include "backupy/pipeline/pipeline.hpp"

#include <memory>
#include <span>
#include <utility>

#include "backupy/blob/blob_writer.hpp"
#include "backupy/stream/counting_sink.hpp"
#include "backupy/stream/file_sink.hpp"
#include "backupy/stream/hashing_sink.hpp"
#include "guard_sinks.hpp"

namespace backupy::pipeline {

PipelineResult run_pipeline(const std::function<void(stream::ByteSink&)>& source,
                            const PipelineOptions& options, std::stop_token stop) {
  if (options.spool_path.empty()) throw std::invalid_argument("spool path must not be empty");
  if (options.on_progress && options.progress_every_bytes == 0) {
    throw std::invalid_argument("progress interval must be > 0 bytes");
  }
  // Cancelled before anything happened: do not even create the spool file.
  if (stop.stop_requested()) throw stream::Cancelled();

  // Built from the file backwards; destroyed in reverse, so every stage
  // outlives the ones that write into it, and the FileSink (which removes
  // its file unless kept) goes last. An exception anywhere below unwinds
  // through ~FileSink and leaves no partial spool behind.
  stream::FileSink file(options.spool_path);
  detail::BudgetSink budget(file, options.max_spool_bytes);
  stream::HashingSink hashing(&budget);

  // The DEK is not copied here: BlobWriter keeps the only copy and wipes it
  // in its destructor, on success and on every failure alike.
  std::unique_ptr<blob::BlobWriter> encryptor;
  stream::ByteSink* compressed_out = &hashing;
  if (options.dek) {
    encryptor = std::make_unique<blob::BlobWriter>(std::span(*options.dek), hashing);
    compressed_out = encryptor.get();
  }
  const std::unique_ptr<stream::ByteSink> compressor =
      compress::make_compressor(options.codec, options.compress, *compressed_out);

  std::unique_ptr<stream::CountingSink> counting =
      options.on_progress ? std::make_unique<stream::CountingSink>(
                                compressor.get(), options.progress_every_bytes, options.on_progress)
                          : std::make_unique<stream::CountingSink>(compressor.get());
  detail::StopSink head(*counting, std::move(stop));

  source(head);
  head.finish();  // ends the zstd frame, writes the blob terminator, fsyncs the spool
  file.keep();

  PipelineResult result;
  result.raw_bytes = counting->bytes();
  result.stored_bytes = hashing.bytes();
  result.sha256_hex = hashing.sha256_hex();
  result.compression = std::string(compress::to_string(options.codec));
  return result;
}

}  // namespace backupy::pipeline
