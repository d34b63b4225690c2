#include "backupy/selfupdate/version_probe.hpp"

#include <nlohmann/json.hpp>
#include <string>

#include "backupy/process/child.hpp"
#include "backupy/process/pump.hpp"

namespace backupy::selfupdate {

Verdict probe_version(const std::filesystem::path& binary, std::string_view expected,
                      std::chrono::milliseconds timeout) {
  constexpr std::size_t kMaxOutput = 64 * 1024;
  std::string out;
  process::PumpResult result;
  try {
    process::Child child = process::Child::spawn(
        {.argv = {binary.string(), "version", "--json"}, .env = {}, .capture_stderr = false});
    result =
        process::pump(child, {.timeout = timeout, .on_stdout = [&out](std::span<const char> b) {
                                if (out.size() < kMaxOutput) out.append(b.data(), b.size());
                              }});
  } catch (const std::exception& e) {
    return {false, "the new binary does not start: " + std::string(e.what())};
  }
  if (result.ending == process::PumpResult::Ending::timed_out) {
    return {false, "the new binary's `version --json` did not finish within " +
                       std::to_string(timeout.count()) + " ms"};
  }
  if (!result.ok()) {
    return {false, "the new binary's `version --json` failed: " + result.status.describe()};
  }
  const auto json = nlohmann::json::parse(out, nullptr, false);
  if (!json.is_object() || !json.contains("version") || !json["version"].is_string()) {
    return {false, "the new binary's `version --json` printed no version"};
  }
  const std::string version = json["version"].get<std::string>().substr(0, 64);
  if (version != expected) {
    return {false,
            "the new binary says it is version " + version + ", not " + std::string(expected)};
  }
  return {true, {}};
}

}  // namespace backupy::selfupdate
