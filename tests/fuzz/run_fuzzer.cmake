# Runs one libFuzzer target for a bounded time, as a CTest test.
#
#   cmake -DFUZZER=<binary> -DSEEDS=<seed corpus dir> -DWORK=<scratch dir> -DSECONDS=<n> -P run_fuzzer.cmake
#
# The fuzzer grows its corpus in place, so it works on a fresh copy of the
# seeds under WORK, never on the source tree; crash inputs land in WORK/artifacts.
# Any crash, sanitizer report or leak makes libFuzzer exit nonzero: the test fails.
foreach(var FUZZER SEEDS WORK SECONDS)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "run_fuzzer.cmake needs -D${var}=...")
  endif()
endforeach()

file(REMOVE_RECURSE "${WORK}")
file(MAKE_DIRECTORY "${WORK}/corpus" "${WORK}/artifacts")
file(GLOB seeds "${SEEDS}/*")
if(NOT seeds)
  message(FATAL_ERROR "no seed inputs in ${SEEDS}")
endif()
file(COPY ${seeds} DESTINATION "${WORK}/corpus")

execute_process(
  COMMAND "${FUZZER}" -max_total_time=${SECONDS} -rss_limit_mb=2048 -timeout=10
          -print_final_stats=1 "-artifact_prefix=${WORK}/artifacts/" "${WORK}/corpus"
  WORKING_DIRECTORY "${WORK}"
  RESULT_VARIABLE result
  OUTPUT_VARIABLE output
  ERROR_VARIABLE output)

if(NOT result EQUAL 0)
  message("${output}")
  file(GLOB crashes "${WORK}/artifacts/*")
  message(FATAL_ERROR "${FUZZER} failed (exit ${result}); reproducer(s): ${crashes}")
endif()
# On success, only the summary: the run count and the corpus it grew.
string(REGEX MATCHALL "(Done [0-9]+ runs[^\n]*|stat::[a-z_]+: *[0-9]+)" summary "${output}")
string(REPLACE ";" "\n" summary "${summary}")
message("${summary}")
