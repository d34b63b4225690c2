#include "backupy/selfupdate/download.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>

#include "backupy/core/files.hpp"
#include "backupy/net/url.hpp"
#include "backupy/upload/https_request.hpp"

namespace backupy::selfupdate {
namespace {

DownloadResult failed(std::string error) {
  return DownloadResult{.ok = false, .error = std::move(error), .bytes = 0};
}

std::string errno_text(const std::string& what, const std::filesystem::path& path) {
  const int error = errno;  // before any allocation below
  return what + " " + path.string() + ": " + std::strerror(error);
}

bool write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

// Removes dest unless released: every failure path, including exceptions, leaves no partial
// binary behind.
class RemoveUnlessKept {
 public:
  explicit RemoveUnlessKept(const std::filesystem::path& path) : path_(path) {}
  ~RemoveUnlessKept() {
    if (!kept_) ::unlink(path_.c_str());
  }
  RemoveUnlessKept(const RemoveUnlessKept&) = delete;
  RemoveUnlessKept& operator=(const RemoveUnlessKept&) = delete;
  void keep() { kept_ = true; }

 private:
  const std::filesystem::path& path_;
  bool kept_ = false;
};

}  // namespace

DownloadResult download_release(const std::string& url, const std::filesystem::path& dest,
                                const DownloadOptions& options) {
  const std::string shown = upload::display_url(url);
  // https_request would also accept http:// to loopback hosts; a release binary never comes
  // over plain http.
  std::string why;
  const std::optional<net::Url> parsed = net::parse_url(url, &why);
  if (!parsed) return failed("invalid URL " + shown + ": " + why);
  if (parsed->scheme != "https") {
    return failed("refusing to download " + shown + ": only https:// URLs are allowed");
  }

  core::UniqueFd fd(
      ::open(dest.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0700));
  if (!fd) return failed(errno_text("cannot create", dest));
  RemoveUnlessKept cleanup(dest);
  // The umask may have narrowed the mode, and an existing file keeps its old one.
  if (::fchmod(fd.get(), 0700) != 0) return failed(errno_text("cannot chmod", dest));

  std::string write_error;
  std::uint64_t written = 0;
  const upload::BodySink sink = [&](std::string_view chunk) {
    if (options.cancelled && options.cancelled()) {
      write_error = "the download of " + shown + " was cancelled";
      return false;
    }
    if (!write_all(fd.get(), chunk)) {
      write_error = errno_text("cannot write", dest);
      return false;
    }
    written += chunk.size();
    return true;
  };
  upload::HttpsOptions https;
  https.ca_file = options.ca_file;
  https.connect_timeout = options.connect_timeout;
  https.idle_timeout = options.idle_timeout;
  https.max_sink_bytes = options.max_bytes;
  const upload::HttpsResponse response = upload::https_request({.url = url}, https, sink);
  if (!response.ok()) {
    if (response.failure == upload::HttpsResponse::Failure::sink) return failed(write_error);
    return failed("cannot download " + shown + ": " + response.error);
  }
  if (response.status / 100 != 2) {
    return failed("HTTP " + std::to_string(response.status) + " from " + shown);
  }
  if (::fsync(fd.get()) != 0) return failed(errno_text("cannot fsync", dest));
  if (::close(fd.release()) != 0) return failed(errno_text("cannot close", dest));
  cleanup.keep();
  return DownloadResult{.ok = true, .error = {}, .bytes = written};
}

}  // namespace backupy::selfupdate
