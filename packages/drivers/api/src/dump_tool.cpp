#include "backupy/drivers/dump_tool.hpp"

#include <algorithm>
#include <system_error>

#include "backupy/drivers/driver.hpp"
#include "backupy/process/output_tail.hpp"
#include "backupy/process/pump.hpp"
#include "backupy/stream/cancelled.hpp"

namespace backupy::drivers {

process::Child spawn_dump_tool(const process::SpawnOptions& spawn, const std::string& what) {
  try {
    return process::Child::spawn(spawn);
  } catch (const std::system_error& e) {
    const std::string tool = spawn.argv.empty() ? "<no program>" : spawn.argv.front();
    throw DriverError(what + ": cannot run " + tool + ": " + e.what());
  }
}

DumpToolRun run_dump_tool(process::Child& child, stream::ByteSink& out, std::stop_token stop,
                          const std::string& what, const std::string& secret,
                          const std::function<void(std::span<const char>)>& inspect) {
  process::OutputTail tail(4096);
  DumpToolRun run;
  process::PumpOptions options;
  options.on_stdout = [&](std::span<const char> data) {
    if (inspect) inspect(data);
    run.bytes += data.size();
    out.write(std::span(reinterpret_cast<const std::uint8_t*>(data.data()), data.size()));
  };
  options.on_stderr = [&](std::span<const char> data) { tail.append(data); };
  const process::PumpResult result = process::pump(child, options, stop);
  if (!tail.empty()) run.stderr_tail = one_line_masked(tail.text(), secret);
  if (result.ending == process::PumpResult::Ending::stopped) throw stream::Cancelled();
  if (!result.ok()) {
    throw DriverError(what + " failed (" + result.status.describe() + ")" + run.tail_suffix());
  }
  return run;
}

std::string one_line_masked(std::string text, const std::string& secret) {
  if (secret.size() >= 3) {
    for (auto at = text.find(secret); at != std::string::npos; at = text.find(secret, at)) {
      text.replace(at, secret.size(), "***");
    }
  }
  std::replace(text.begin(), text.end(), '\n', ' ');
  std::replace(text.begin(), text.end(), '\t', ' ');
  while (!text.empty() && text.back() == ' ') text.pop_back();
  return text;
}

}  // namespace backupy::drivers
