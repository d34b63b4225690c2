#pragma once
// The release binary's download: one HTTPS GET streamed into a file, with a size cap. Blocking
// (the agent runs it on a worker thread). No retries: the control plane's operator sees the
// first failure in the SelfUpdate's Ack and may send the request again.
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>

namespace backupy::selfupdate {

struct DownloadOptions {
  std::optional<std::string> ca_file;  // extra trust anchors (PEM), as BACKUPY_CA_FILE
  std::uint64_t max_bytes = 256ull * 1024 * 1024;
  std::chrono::milliseconds connect_timeout{std::chrono::seconds(10)};
  std::chrono::milliseconds idle_timeout{std::chrono::seconds(60)};
  // Polled between chunks: true aborts the download (the agent is shutting down).
  std::function<bool()> cancelled;
};

struct DownloadResult {
  bool ok = false;
  std::string error;  // one precise line when !ok
  std::uint64_t bytes = 0;
};

// GET url (https:// only — anything else is refused before connecting) streaming the body into
// dest (created/truncated with mode 0700, fsynced). Over max_bytes (by Content-Length up front or
// by counting) aborts. Any failure removes dest. error never contains the URL's query string
// (presigned URLs) — it names scheme://host/path only. Non-2xx → "HTTP <status> from
// https://host/path".
DownloadResult download_release(const std::string& url, const std::filesystem::path& dest,
                                const DownloadOptions& options);

}  // namespace backupy::selfupdate
