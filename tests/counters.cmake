# `kbench run --counters` on a GPU (tests/test_counters_gpu.sh; named like the
# C GPU tests so scripts/device-run.sh runs it): skips (77)
# without a GPU, ncu or counter permission.  The parser and the ncu runner are
# tested without a GPU by test_counters, the plots and report by
# test_cmd_traffic.
add_test(NAME test_counters_gpu COMMAND ${CMAKE_SOURCE_DIR}/tests/test_counters_gpu.sh $<TARGET_FILE:kbench>)
set_tests_properties(test_counters_gpu PROPERTIES SKIP_RETURN_CODE ${KB_TEST_SKIP} LABELS gpu RESOURCE_LOCK gpu TIMEOUT 300)
# The hidden child mode (`--counters-case OP/IMPL/SHAPE`, what ncu runs): an
# unknown case or a missing value is a usage error (exit 2, one line).
add_test(NAME counters_cli COMMAND bash -c "
  kb=$<TARGET_FILE:kbench>
  err=$($kb run --counters-case hbm/v9/nope 2>&1); rc=$?
  [ $rc -eq 2 ] && [ \"$err\" = \"kbench: --counters-case: no case 'hbm/v9/nope'\" ] || { echo \"FAIL unknown case: $rc '$err'\"; exit 1; }
  err=$($kb run --counters-case 2>&1); rc=$?
  [ $rc -eq 2 ] && [ $(echo \"$err\" | wc -l) -eq 1 ] || { echo \"FAIL missing value: $rc '$err'\"; exit 1; }
  echo counters_cli: ok")
