// backupy-control-plane download RUN --out FILE: asks the control plane for the run's
// presigned GET URL, streams the object into FILE (through a temp file and a rename) and
// checks it against the size and SHA-256 the agent reported for the run.
#include <cerrno>
#include <iostream>
#include <system_error>

#include "backupy/core/hex.hpp"
#include "backupy/core/percent.hpp"
#include "backupy/upload/https_request.hpp"
#include "commands.hpp"
#include "download_file.hpp"

namespace backupy::cpcli {

int download_command(const Args& args, const Env& env) {
  const ParsedArgs parsed = parse_args(args, {"--out"});
  if (parsed.positionals.size() != 1) throw UsageError("download needs exactly one RUN");
  const std::optional<std::string> out = parsed.value("--out");
  if (!out) throw UsageError("download needs --out FILE");
  const std::string& run_id = parsed.positionals.front();
  const OperatorClient client(client_settings(parsed, env));

  const std::string run_path = "/v1/runs/" + core::percent_encode(run_id);
  const nlohmann::json run = client.call("GET", run_path);
  if (run.value("status", "") != "success") {
    throw CommandError("run " + run_id + " has no backup to download (status " +
                       run.value("status", "?") + ")");
  }
  const nlohmann::json presigned = client.call("GET", run_path + "/download-url");
  const std::string url = presigned.value("url", "");
  if (url.empty()) throw CommandError("the control plane sent no download URL for run " + run_id);

  DownloadFile file(*out);
  int write_errno = 0;
  upload::HttpsRequest request;
  request.url = url;  // a bearer credential: its query never appears in a message
  upload::HttpsOptions options;
  options.ca_file = client.settings().ca_file;
  const upload::HttpsResponse response =
      upload::https_request(request, options, [&](std::string_view chunk) {
        if (file.write(chunk)) return true;
        write_errno = errno;
        return false;
      });
  if (response.failure == upload::HttpsResponse::Failure::sink) {
    throw CommandError("cannot write " + *out + ": " +
                       std::generic_category().message(write_errno));
  }
  if (!response.ok())
    throw CommandError("download of run " + run_id + " failed: " + response.error);
  if (response.status != 200) {
    throw CommandError("download of run " + run_id + " failed: storage answered HTTP " +
                       std::to_string(response.status));
  }
  const std::uint64_t expected_size = run.value("size_bytes", 0ULL);
  if (expected_size != 0 && file.size() != expected_size) {
    throw CommandError("download of run " + run_id + " is " + std::to_string(file.size()) +
                       " bytes, but the run reported " + std::to_string(expected_size));
  }
  const std::string sha256 = core::to_hex(file.finish_sha256());
  const std::string expected_sha256 = run.value("sha256", "");
  if (!expected_sha256.empty() && sha256 != expected_sha256) {
    throw CommandError("download of run " + run_id + " has sha256 " + sha256 +
                       ", but the run reported " + expected_sha256);
  }
  file.commit();
  std::cerr << "wrote " << file.size() << " bytes to " << *out
            << (expected_sha256.empty() ? "" : " (size and sha256 verified)") << std::endl;
  return 0;
}

}  // namespace backupy::cpcli
