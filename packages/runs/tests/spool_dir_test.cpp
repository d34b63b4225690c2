#include "spool_dir.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <optional>
#include <regex>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "backupy/crypto/crypto.hpp"
#include "backupy/test_support/temp_dir.hpp"

namespace backupy::runs::detail {
namespace {

namespace fs = std::filesystem;
using test_support::TempDir;

void write_file(const fs::path& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
  ASSERT_TRUE(out.good()) << path;
}

std::set<std::string> names_in(const fs::path& dir) {
  std::set<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir)) names.insert(entry.path().filename());
  return names;
}

unsigned mode_of(const fs::path& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return 0xFFFFFFFFu;
  return st.st_mode & 07777;
}

std::string sha256_of(const std::string& content) {
  return crypto::sha256_hex(
      std::span(reinterpret_cast<const std::uint8_t*>(content.data()), content.size()));
}

// ---------------------------------------------------------------- names --

TEST(SpoolFileName, SafeIdsAreUsedAsIs) {
  EXPECT_EQ(spool_file_name("r1"), "r1.bkpy");
  EXPECT_EQ(spool_file_name("run-2024_01.02"), "run-2024_01.02.bkpy");
  EXPECT_EQ(spool_file_name("0f8e7d6c-AAAA-bbbb-9999-0123456789ab"),
            "0f8e7d6c-AAAA-bbbb-9999-0123456789ab.bkpy");
  EXPECT_EQ(spool_file_name("a..b"), "a..b.bkpy");  // dots inside are harmless
  EXPECT_EQ(spool_file_name("x."), "x..bkpy");
  const std::string hundred(100, 'a');
  EXPECT_EQ(spool_file_name(hundred), hundred + ".bkpy");
}

TEST(SpoolFileName, UnsafeIdsAreHashed) {
  const std::regex hashed("run-[0-9a-f]{32}\\.bkpy");
  const std::vector<std::string> unsafe = {
      "../x",
      "a/b",
      "/etc/passwd",
      ".hidden",
      ".",
      "..",
      std::string(101, 'a'),
      "",
      "caf\xc3\xa9",  // "café" in UTF-8
      "\xe2\x9c\x93",
      "a b",
      "a\\b",
      "tab\there",
      std::string("nul\0byte", 8),
      "semi;colon",
  };
  std::set<std::string> names;
  for (const auto& id : unsafe) {
    const std::string name = spool_file_name(id);
    EXPECT_TRUE(std::regex_match(name, hashed)) << "id \"" << id << "\" -> " << name;
    EXPECT_EQ(name, spool_file_name(id)) << "not deterministic for \"" << id << "\"";
    EXPECT_EQ(name, "run-" + sha256_of(id).substr(0, 32) + ".bkpy");
    names.insert(name);
  }
  EXPECT_EQ(names.size(), unsafe.size()) << "two unsafe ids share a spool file name";
}

TEST(SpoolFileName, HashedNamesDifferFromTheSafeNamesOfTheSameText) {
  // 101 characters is hashed, 100 is not: both differ from each other.
  EXPECT_NE(spool_file_name(std::string(101, 'a')), spool_file_name(std::string(100, 'a')));
  EXPECT_NE(spool_file_name("a/b"), spool_file_name("a_b"));
  EXPECT_NE(spool_file_name(".hidden"), spool_file_name("hidden"));
}

TEST(SpoolFileName, NeverLeavesTheDirectory) {
  for (const std::string id : {"../../etc/cron.d/x", "a/../../b", "..", "/abs"}) {
    const fs::path name = spool_file_name(id);
    EXPECT_EQ(name.filename(), name) << id;
    EXPECT_EQ(name.string().find('/'), std::string::npos) << id;
  }
}

// ---------------------------------------------------------------- sweep --

TEST(SweepSpool, RemovesEverythingNotKept) {
  TempDir tmp;
  const fs::path dir = tmp.path() / "spool";
  fs::create_directory(dir);
  write_file(dir / "keep.bkpy", "kept");
  write_file(dir / "orphan.bkpy", "orphan");
  write_file(dir / ".hidden", "x");
  fs::create_directories(dir / "subdir" / "nested");
  write_file(dir / "subdir" / "nested" / "f", "deep");
  write_file(dir / "subdir" / "keep.bkpy", "same name, deeper");

  const std::set<std::string> removed = sweep_spool(dir, {"keep.bkpy", "absent.bkpy"});
  EXPECT_EQ(removed, (std::set<std::string>{"orphan.bkpy", ".hidden", "subdir"}));
  EXPECT_EQ(names_in(dir), (std::set<std::string>{"keep.bkpy"}));
}

TEST(SweepSpool, KeepsADirectoryWhoseNameIsKept) {
  TempDir tmp;
  fs::create_directories(tmp.path() / "kept-dir");
  write_file(tmp.path() / "kept-dir" / "inner", "x");
  EXPECT_TRUE(sweep_spool(tmp.path(), {"kept-dir"}).empty());
  EXPECT_TRUE(fs::exists(tmp.path() / "kept-dir" / "inner"));
}

TEST(SweepSpool, EmptyKeepRemovesAll) {
  TempDir tmp;
  write_file(tmp.path() / "a", "1");
  write_file(tmp.path() / "b", "2");
  EXPECT_EQ(sweep_spool(tmp.path(), {}), (std::set<std::string>{"a", "b"}));
  EXPECT_TRUE(tmp.empty());
}

TEST(SweepSpool, RemovesSymlinksWithoutFollowingThem) {
  TempDir tmp;
  const fs::path outside = tmp.path() / "outside";
  fs::create_directory(outside);
  write_file(outside / "precious", "do not delete");
  const fs::path dir = tmp.path() / "spool";
  fs::create_directory(dir);
  fs::create_directory_symlink(outside, dir / "link-to-dir");
  fs::create_symlink(outside / "precious", dir / "link-to-file");
  fs::create_symlink(tmp.path() / "nowhere", dir / "dangling");

  EXPECT_EQ(sweep_spool(dir, {}),
            (std::set<std::string>{"link-to-dir", "link-to-file", "dangling"}));
  EXPECT_TRUE(fs::is_empty(dir));
  EXPECT_TRUE(fs::exists(outside / "precious"));
}

TEST(SweepSpool, CreatesAMissingDirectoryPrivate) {
  TempDir tmp;
  const fs::path dir = tmp.path() / "a" / "spool";
  EXPECT_TRUE(sweep_spool(dir, {"x.bkpy"}).empty());
  ASSERT_TRUE(fs::is_directory(dir));
  EXPECT_EQ(mode_of(dir), 0700u);
  EXPECT_TRUE(fs::is_empty(dir));
}

TEST(SweepSpool, MakesAnExistingDirectoryPrivate) {
  TempDir tmp;
  const fs::path dir = tmp.path() / "spool";
  fs::create_directory(dir);
  ASSERT_EQ(::chmod(dir.c_str(), 0755), 0);
  sweep_spool(dir, {});
  EXPECT_EQ(mode_of(dir), 0700u);
}

TEST(SweepSpool, ThrowsWhenThePathIsAFile) {
  TempDir tmp;
  write_file(tmp.path() / "file", "x");
  EXPECT_THROW(sweep_spool(tmp.path() / "file", {}), std::system_error);
}

// ---------------------------------------------------------------- usage --

TEST(SpoolUsage, SumsRegularFilesExceptTheNamedOne) {
  TempDir tmp;
  write_file(tmp.path() / "a.bkpy", std::string(10, 'a'));
  write_file(tmp.path() / "b.bkpy", std::string(200, 'b'));
  write_file(tmp.path() / "c.bkpy", std::string(3000, 'c'));
  write_file(tmp.path() / "empty", "");
  fs::create_directory(tmp.path() / "dir");
  write_file(tmp.path() / "dir" / "inside", std::string(50'000, 'd'));  // not counted

  EXPECT_EQ(spool_usage(tmp.path()), 3210u);
  EXPECT_EQ(spool_usage(tmp.path(), "b.bkpy"), 3010u);
  EXPECT_EQ(spool_usage(tmp.path(), "c.bkpy"), 210u);
  EXPECT_EQ(spool_usage(tmp.path(), "absent.bkpy"), 3210u);
  EXPECT_EQ(spool_usage(tmp.path(), "dir"), 3210u);
}

TEST(SpoolUsage, EmptyOrMissingDirectoryIsZero) {
  TempDir tmp;
  EXPECT_EQ(spool_usage(tmp.path()), 0u);
  EXPECT_EQ(spool_usage(tmp.path() / "missing"), 0u);
}

// ---------------------------------------------------------------- check --

class CheckSpoolFile : public ::testing::Test {
 protected:
  TempDir tmp_;
  fs::path file_ = tmp_.path() / "r1.bkpy";
  std::string content_ = "BKPY blob content \x01\x02\x03";
};

TEST_F(CheckSpoolFile, MatchingFileIsOk) {
  write_file(file_, content_);
  const auto problem = check_spool_file(file_, content_.size(), sha256_of(content_));
  EXPECT_FALSE(problem.has_value()) << *problem;
}

TEST_F(CheckSpoolFile, EmptyFileIsOk) {
  write_file(file_, "");
  const auto problem = check_spool_file(file_, 0, sha256_of(""));
  EXPECT_FALSE(problem.has_value()) << *problem;
}

TEST_F(CheckSpoolFile, LargerThanOneReadBufferIsOk) {
  std::string big(600 * 1024 + 7, '\0');
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 31 + 7);
  write_file(file_, big);
  const std::string recorded = sha256_of(big);
  const auto problem = check_spool_file(file_, big.size(), recorded);
  EXPECT_FALSE(problem.has_value()) << *problem;

  big.back() ^= 1;  // same size, last byte changed: past the first buffer
  write_file(file_, big);
  EXPECT_EQ(check_spool_file(file_, big.size(), recorded),
            "spool file " + file_.string() + " does not match its recorded SHA-256");
}

TEST_F(CheckSpoolFile, MissingFile) {
  EXPECT_EQ(check_spool_file(file_, content_.size(), sha256_of(content_)),
            "spool file " + file_.string() + " is missing: No such file or directory");
}

TEST_F(CheckSpoolFile, WrongSize) {
  write_file(file_, content_);
  EXPECT_EQ(check_spool_file(file_, content_.size() + 1, sha256_of(content_)),
            "spool file " + file_.string() + " has " + std::to_string(content_.size()) +
                " bytes; the run recorded " + std::to_string(content_.size() + 1));
  EXPECT_EQ(check_spool_file(file_, 0, sha256_of(content_)),
            "spool file " + file_.string() + " has " + std::to_string(content_.size()) +
                " bytes; the run recorded 0");
}

TEST_F(CheckSpoolFile, WrongSha) {
  write_file(file_, content_);
  std::string altered = content_;
  altered[0] = 'X';
  const std::string expected =
      "spool file " + file_.string() + " does not match its recorded SHA-256";
  EXPECT_EQ(check_spool_file(file_, content_.size(), sha256_of(altered)), expected);
  EXPECT_EQ(check_spool_file(file_, content_.size(), ""), expected);
  EXPECT_EQ(check_spool_file(file_, content_.size(), std::string(64, '0')), expected);
}

// -------------------------------------------------------------- scratch --

TEST(ScratchDir, CreatesAPrivateDirectoryAndRemovesItOnDestruction) {
  TempDir tmp;
  const fs::path path = tmp.path() / "work" / "r1.bkpy";
  {
    ScratchDir scratch(path);
    EXPECT_EQ(scratch.path(), path);
    ASSERT_TRUE(fs::is_directory(path));
    EXPECT_EQ(mode_of(path), 0700u);
    EXPECT_TRUE(fs::is_empty(path));

    write_file(path / "dump.tmp", "partial dump");
    fs::create_directories(path / "a" / "b");
    write_file(path / "a" / "b" / "c", "deep");
  }
  EXPECT_FALSE(fs::exists(path));
  EXPECT_TRUE(fs::is_directory(tmp.path() / "work"));  // only its own directory goes
}

TEST(ScratchDir, RemovesLeftoversOfAPreviousRunAtConstruction) {
  TempDir tmp;
  const fs::path path = tmp.path() / "scratch";
  fs::create_directories(path / "old" / "deeper");
  write_file(path / "old" / "deeper" / "stale", "from a crash");
  write_file(path / "stale.tmp", "from a crash");
  ASSERT_EQ(::chmod(path.c_str(), 0755), 0);

  ScratchDir scratch(path);
  ASSERT_TRUE(fs::is_directory(path));
  EXPECT_TRUE(fs::is_empty(path));
  EXPECT_EQ(mode_of(path), 0700u);
}

TEST(ScratchDir, ReplacesAFileAtItsPath) {
  TempDir tmp;
  const fs::path path = tmp.path() / "scratch";
  write_file(path, "not a directory");
  ScratchDir scratch(path);
  EXPECT_TRUE(fs::is_directory(path));
  EXPECT_EQ(mode_of(path), 0700u);
}

TEST(ScratchDir, DestructionToleratesAnAlreadyRemovedDirectory) {
  TempDir tmp;
  const fs::path path = tmp.path() / "scratch";
  {
    ScratchDir scratch(path);
    fs::remove_all(path);
  }
  EXPECT_FALSE(fs::exists(path));
}

}  // namespace
}  // namespace backupy::runs::detail
