# kbench claim: the command-line contract and the output files (no GPU).
add_test(NAME claim_cli COMMAND ${CMAKE_SOURCE_DIR}/tests/claim_cli.sh $<TARGET_FILE:kbench> ${CMAKE_BINARY_DIR}/claim-cli)
