#pragma once
// Bytes currently allocated on the heap, for "memory does not grow with the
// input" tests. Counts every thread's arena (so zstd workers are included);
// under ASan, whose allocator replaces malloc, asks the ASan runtime instead.
#include <cstddef>

#if defined(__SANITIZE_ADDRESS__)
#define BACKUPY_TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define BACKUPY_TEST_ASAN 1
#endif
#endif

#ifdef BACKUPY_TEST_ASAN
// From the ASan runtime; g++ ships no <sanitizer/allocator_interface.h>.
extern "C" std::size_t __sanitizer_get_current_allocated_bytes();
#else
#include <malloc.h>
#endif

namespace backupy::test_support {

inline std::size_t heap_in_use() {
#ifdef BACKUPY_TEST_ASAN
  return __sanitizer_get_current_allocated_bytes();
#else
  const struct mallinfo2 info = ::mallinfo2();
  return info.uordblks + info.hblkhd;  // large blocks are mmapped, counted apart
#endif
}

}  // namespace backupy::test_support
