// Defines ECCL_THREAD_SANITIZER in a ThreadSanitizer build (GCC says so with
// __SANITIZE_THREAD__, Clang with __has_feature), for code that tells TSan
// what it cannot see (transport/shm/mapping_sync.h) and tests that skip work
// it makes too slow.
#pragma once

#if defined(__SANITIZE_THREAD__)
#define ECCL_THREAD_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define ECCL_THREAD_SANITIZER 1
#endif
#endif
