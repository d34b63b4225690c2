// backupy-agent: see `backupy-agent help` and docs/configuration.md.
#include "cli.hpp"

int main(int argc, char** argv) {
  return backupy::agent::main_with_args(argc, argv);
}
