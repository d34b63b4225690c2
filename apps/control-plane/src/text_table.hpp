#pragma once
// Left-aligned text tables for the operator CLI: columns as wide as their widest cell, two
// blanks apart, no trailing blanks.
#include <ostream>
#include <string>
#include <vector>

namespace backupy::cpcli {

class TextTable {
 public:
  explicit TextTable(std::vector<std::string> header) { rows_.push_back(std::move(header)); }
  void add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  void print(std::ostream& out) const;

 private:
  std::vector<std::vector<std::string>> rows_;
};

}  // namespace backupy::cpcli
