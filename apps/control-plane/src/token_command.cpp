// backupy-control-plane token RUN: POST /v1/runs/{RUN}/decryption-token and print the JWT,
// alone on stdout, so that `... token RUN > run.token` gives backupy-decrypt its input.
#include <iostream>

#include "backupy/core/percent.hpp"
#include "commands.hpp"

namespace backupy::cpcli {

int token_command(const Args& args, const Env& env) {
  const ParsedArgs parsed = parse_args(args, {});
  if (parsed.positionals.size() != 1) throw UsageError("token needs exactly one RUN");
  const std::string& run_id = parsed.positionals.front();
  const OperatorClient client(client_settings(parsed, env));
  const nlohmann::json answer =
      client.call("POST", "/v1/runs/" + core::percent_encode(run_id) + "/decryption-token");
  const std::string token = answer.value("token", "");
  if (token.empty()) throw CommandError("the control plane sent no token for run " + run_id);
  std::cout << token << '\n';
  return 0;
}

}  // namespace backupy::cpcli
