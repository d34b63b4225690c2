// S3Store's own requests (presigned HEAD/DELETE: the object check and retention) against a
// real S3 server (s3rver, tests/support), and their errors.
#include "s3_store.hpp"

#include <gtest/gtest.h>

#include "backupy/core/time.hpp"
#include "backupy/test_support/s3_server.hpp"
#include "test_support.hpp"

namespace backupy::controlplane::detail {
namespace {

StorageConfig s3_storage(const std::string& endpoint) {
  StorageConfig storage;
  storage.type = StorageType::s3;
  storage.endpoint = endpoint;
  storage.region = "us-east-1";
  storage.bucket = "backups";
  storage.access_key_id = "S3RVER";
  storage.secret_access_key = "S3RVER-secret-never-shown";
  return storage;
}

TEST(S3StoreTest, StatsAndRemovesObjectsWithPresignedRequests) {
  test_support::S3Server s3;
  const S3Store store(s3_storage(s3.endpoint()));
  const std::string key = "agents/agent-1/nightly/run-1.bkpy";
  EXPECT_EQ(store.stat(key), std::nullopt);

  // Uploaded the way an agent does: through a presigned PUT of the same store.
  testing::TempDir dir;
  testing::write_text(dir.path() / "blob", std::string(1234, 'b'));
  const test_support::CommandResult put = test_support::run_command(
      {test_support::find_executable("curl").string(), "--silent", "--fail", "--upload-file",
       (dir.path() / "blob").string(), store.presign_put(key, core::now_ms()).url},
      {});
  ASSERT_EQ(put.exit_code, 0) << put.err;

  EXPECT_EQ(store.stat(key), 1234u);
  EXPECT_TRUE(store.remove(key));
  EXPECT_EQ(store.stat(key), std::nullopt);
}

TEST(S3StoreTest, AStorageThatCannotAnswerThrowsWithoutTheSignature) {
  const S3Store store(s3_storage("http://127.0.0.1:9"));  // nothing listens there
  for (const bool removing : {false, true}) {
    try {
      removing ? (void)store.remove("agents/a/j/r.bkpy") : (void)store.stat("agents/a/j/r.bkpy");
      ADD_FAILURE() << "no exception";
    } catch (const std::runtime_error& e) {
      const std::string message = e.what();
      EXPECT_NE(message.find(removing ? "DELETE agents/a/j/r.bkpy: " : "HEAD agents/a/j/r.bkpy: "),
                std::string::npos)
          << message;
      EXPECT_NE(message.find("connection refused"), std::string::npos) << message;
      EXPECT_EQ(message.find("X-Amz-Signature"), std::string::npos) << message;
      EXPECT_EQ(message.find("S3RVER-secret"), std::string::npos) << message;
    }
  }
}

}  // namespace
}  // namespace backupy::controlplane::detail
