"""The bindings load the library of this build and agree with the C header."""

import pathlib
import re
import unittest

import eccl

HEADER = pathlib.Path(__file__).resolve().parents[3] / "include" / "eccl" / "eccl.h"


def header_version() -> tuple[int, int, int]:
    text = HEADER.read_text()
    parts = [int(re.search(rf"#define ECCL_VERSION_{p} (\d+)", text).group(1))
             for p in ("MAJOR", "MINOR", "PATCH")]
    return tuple(parts)


class LibraryTest(unittest.TestCase):
    def test_version_matches_the_header(self) -> None:
        self.assertEqual(eccl.version(), header_version())

    def test_error_strings_name_the_code(self) -> None:
        self.assertTrue(eccl.error_string(0).startswith("ecclSuccess"))
        self.assertTrue(eccl.error_string(8).startswith("ecclPeerLost"))
        self.assertEqual(eccl.error_string(999), "unknown ecclResult_t value")

    def test_errors_carry_code_and_detail(self) -> None:
        error = eccl.EcclError(1, "buffer is NULL")
        self.assertEqual(error.code, 1)
        self.assertIn("ecclInvalidArgument", str(error))
        self.assertIn("buffer is NULL", str(error))


if __name__ == "__main__":
    unittest.main()
