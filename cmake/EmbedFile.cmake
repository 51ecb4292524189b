# Writes a C++ source that holds a file's bytes, so that a binary can serve a
# page without reading it at run time. Run as a script:
#   cmake -DINPUT=page.html -DOUTPUT=page.cc -DSYMBOL=kPage -P EmbedFile.cmake
# The source defines `extern const unsigned char SYMBOL[]` (the bytes, then a
# NUL) and `extern const std::size_t SYMBOL_size` (without the NUL).
foreach(var INPUT OUTPUT SYMBOL)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "EmbedFile.cmake: -D${var}= is required")
  endif()
endforeach()
file(READ "${INPUT}" hex HEX)
string(LENGTH "${hex}" hex_length)
math(EXPR size "${hex_length} / 2")
# Sixteen bytes a line.
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
string(REGEX REPLACE "((0x[0-9a-f][0-9a-f],){16})" "\\1\n  " bytes "${bytes}")
get_filename_component(name "${INPUT}" NAME)
file(WRITE "${OUTPUT}.tmp"
  "// Generated from ${name} by cmake/EmbedFile.cmake: edit ${name}, not this file.\n"
  "#include <cstddef>\n\n"
  "extern const unsigned char ${SYMBOL}[] = {\n  ${bytes}0x00};\n"
  "extern const std::size_t ${SYMBOL}_size = ${size};\n")
# Only a changed source is rewritten, so that an unchanged page recompiles nothing.
file(COPY_FILE "${OUTPUT}.tmp" "${OUTPUT}" ONLY_IF_DIFFERENT)
file(REMOVE "${OUTPUT}.tmp")
