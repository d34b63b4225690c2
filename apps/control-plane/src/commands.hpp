#pragma once
// The operator subcommands of backupy-control-plane (one file each). Each takes the arguments
// after its name, writes its result to stdout and returns the exit code; mistakes in the
// command line throw UsageError, failures CommandError (see cli_args.hpp).
#include <string_view>
#include <vector>

#include "operator_client.hpp"

namespace backupy::cpcli {

using Args = std::vector<std::string_view>;

int agents_command(const Args& args, const Env& env);     // agents
int runs_list_command(const Args& args, const Env& env);  // runs list
int run_command(const Args& args, const Env& env);        // run JOB [--wait]
int download_command(const Args& args, const Env& env);   // download RUN --out FILE
int token_command(const Args& args, const Env& env);      // token RUN

}  // namespace backupy::cpcli
