// Installing a verified download and pruning what no state refers to.
#include "backupy/selfupdate/install.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>

#include "backupy/selfupdate/update_state.hpp"
#include "backupy/test_support/temp_dir.hpp"

namespace backupy::selfupdate {
namespace {

void write(const std::filesystem::path& path, const std::string& content) {
  std::filesystem::create_directories(path.parent_path());
  std::ofstream(path) << content;
}

TEST(Install, VersionsUsableInAFileName) {
  for (const char* ok : {"1.2.3", "1.2.3-rc.1", "1.2.3+build.5", "v1.0.0"}) {
    EXPECT_TRUE(is_safe_version(ok)) << ok;
  }
  for (const char* bad : {"", "../1.0.0", "1.0/0", ".1.0.0", "-1.0.0", "1 0", "1.0.0\n"}) {
    EXPECT_FALSE(is_safe_version(bad)) << bad;
  }
  EXPECT_FALSE(is_safe_version(std::string(65, '1')));
}

TEST(Install, MovesTheDownloadIntoBinAsAnOwnerOnlyExecutable) {
  test_support::TempDir state;
  write(download_path(state.path()), "#!/bin/sh\n");
  const auto installed = install_download(state.path(), "1.2.3");
  EXPECT_EQ(installed, state.path() / "update" / "bin" / "backupy-agent-1.2.3");
  EXPECT_FALSE(std::filesystem::exists(download_path(state.path())));
  struct stat st {};
  ASSERT_EQ(::stat(installed.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
}

TEST(Install, WithoutADownloadItFailsNamingThePath) {
  test_support::TempDir state;
  try {
    install_download(state.path(), "1.2.3");
    FAIL() << "no exception";
  } catch (const std::system_error& e) {
    EXPECT_NE(std::string(e.what()).find("download.part"), std::string::npos) << e.what();
  }
}

TEST(Install, PruneKeepsOnlyWhatIsNamed) {
  test_support::TempDir state;
  const auto bin = update_bin_dir(state.path());
  for (const char* name : {"backupy-agent-1.0.0", "backupy-agent-2.0.0", "backupy-agent-3.0.0"}) {
    write(bin / name, "x");
  }
  write(download_path(state.path()), "partial");
  prune_installed(state.path(), {bin / "backupy-agent-2.0.0", "/usr/bin/backupy-agent"});
  EXPECT_FALSE(std::filesystem::exists(bin / "backupy-agent-1.0.0"));
  EXPECT_TRUE(std::filesystem::exists(bin / "backupy-agent-2.0.0"));
  EXPECT_FALSE(std::filesystem::exists(bin / "backupy-agent-3.0.0"));
  EXPECT_FALSE(std::filesystem::exists(download_path(state.path())));
  prune_installed(state.path() / "absent", {});  // nothing there: no error
}

}  // namespace
}  // namespace backupy::selfupdate
