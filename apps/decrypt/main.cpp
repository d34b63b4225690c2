// backupy-decrypt: decrypts a backup stored by backupy-agent. See
// `backupy-decrypt --help` and docs/formats/encrypted-blob-v1.md.
#include "decrypt_command.hpp"

int main(int argc, char** argv) {
  return backupy::decrypt::main_with_args(argc, argv);
}
