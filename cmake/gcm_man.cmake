# Writes the man page pygcprofiler(1) from the launcher just built:
#   cmake -DLAUNCHER=path/to/pygcprofiler -DOUTPUT=pygcprofiler.1 -P gcm_man.cmake
# The page comes from the launcher's own option tables (`pygcprofiler --man`),
# so it cannot drift from --help; a script, not a shell redirection, keeps a
# failed run from leaving a half-written page behind.
execute_process(COMMAND ${LAUNCHER} --man
                OUTPUT_VARIABLE page
                RESULT_VARIABLE status)
if(NOT status EQUAL 0)
  message(FATAL_ERROR "'${LAUNCHER} --man' failed (${status})")
endif()
file(WRITE ${OUTPUT} "${page}")
