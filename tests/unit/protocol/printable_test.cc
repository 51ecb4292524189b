// printable(): peer-supplied text made safe for logs and error messages.
#include <gtest/gtest.h>

#include <string>

#include "src/protocol/messages.h"

namespace eccl::protocol {
namespace {

TEST(Printable, KeepsPrintableAscii) {
  EXPECT_EQ(printable("peer closed: timeout (42 ms) ~ok"), "peer closed: timeout (42 ms) ~ok");
  EXPECT_EQ(printable(""), "");
}

TEST(Printable, ReplacesControlBytes) {
  EXPECT_EQ(printable("a\nb\rc\td"), "a?b?c?d");
  EXPECT_EQ(printable(std::string_view("x\0y", 3)), "x?y");
  EXPECT_EQ(printable("\x1b[2J\x7f"), "?[2J?");  // terminal escape and DEL
}

TEST(Printable, ReplacesBytesAboveAscii) {
  // Each byte of non-ASCII text (here UTF-8 for "é") is replaced on its own.
  EXPECT_EQ(printable("caf\xc3\xa9"), "caf??");
  EXPECT_EQ(printable("\x80\xff"), "??");
}

TEST(Printable, CapsTheLength) {
  EXPECT_EQ(printable(std::string(300, 'a')), std::string(200, 'a') + "...");
  EXPECT_EQ(printable(std::string(200, 'a')), std::string(200, 'a'));
  EXPECT_EQ(printable("abcdefg", 5), "abcde...");
  EXPECT_EQ(printable("abcde", 5), "abcde");
  EXPECT_EQ(printable("abc", 0), "...");
}

TEST(Printable, CapsBeforeReplacing) {
  EXPECT_EQ(printable("\n\n\n\n", 2), "??...");
}

}  // namespace
}  // namespace eccl::protocol
