// Placeholder: filled in by the work on issue #3.
#include <gtest/gtest.h>
