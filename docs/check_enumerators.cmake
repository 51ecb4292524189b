# Fails when an enumerator of the public header has no documentation comment.
# Doxygen's WARN_IF_UNDOCUMENTED covers functions, macros, typedefs, enums,
# structs and their fields, but not enumerators (its WARN_IF_UNDOC_ENUM_VAL
# came after Debian 12's doxygen 1.9.4), so the `docs` target runs this on the
# XML output that Doxygen writes next to the HTML.
#
#   cmake -DXML_DIR=<doxygen xml dir> -DHEADER=<path of eccl.h> -P check_enumerators.cmake

cmake_minimum_required(VERSION 3.25)

if(NOT XML_DIR OR NOT HEADER)
  message(FATAL_ERROR "usage: cmake -DXML_DIR=<dir> -DHEADER=<header> -P check_enumerators.cmake")
endif()

file(READ ${HEADER} header_text)
file(GLOB xml_files ${XML_DIR}/*_8h.xml)
set(checked 0)
set(undocumented 0)
foreach(xml IN LISTS xml_files)
  file(READ ${xml} text)
  while(TRUE)
    string(FIND "${text}" "<enumvalue " start)
    if(start EQUAL -1)
      break()
    endif()
    string(SUBSTRING "${text}" ${start} -1 text)
    string(FIND "${text}" "</enumvalue>" end)
    string(SUBSTRING "${text}" 0 ${end} value)
    string(SUBSTRING "${text}" ${end} -1 text)
    string(REGEX MATCH "<name>([^<]*)</name>" unused "${value}")
    set(name "${CMAKE_MATCH_1}")
    math(EXPR checked "${checked} + 1")
    # A documented enumerator has a paragraph in its brief or detailed description.
    if(NOT value MATCHES "<para>")
      math(EXPR undocumented "${undocumented} + 1")
      # Name the header line, as Doxygen's own warnings do.
      set(line "")
      string(REGEX MATCH "\n[ \t]*${name}[ \t]*[=,\n]" declaration "${header_text}")
      if(declaration)
        string(FIND "${header_text}" "${declaration}" position)
        string(SUBSTRING "${header_text}" 0 ${position} before)
        string(REGEX MATCHALL "\n" newlines "${before}")
        list(LENGTH newlines line)
        math(EXPR line "${line} + 2")
        set(line "${line}:")
      endif()
      message("${HEADER}:${line} error: Enumerator ${name} is not documented.")
    endif()
  endwhile()
endforeach()

if(checked EQUAL 0)
  message(FATAL_ERROR "No enumerators found in ${XML_DIR}/*_8h.xml: has Doxygen's XML layout changed?")
endif()
if(undocumented GREATER 0)
  message(FATAL_ERROR "${undocumented} of ${checked} enumerators are not documented")
endif()
