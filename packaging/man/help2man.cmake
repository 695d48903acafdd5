# Writes the blynkd(1) manual page from `blynkd --help` and `blynkd --version`,
# so the manual and --help are one text (there is no second copy to keep true).
#   cmake -DBLYNKD=<binary> -DOUT=<file.1> -DGZ=<file.1.gz> -P help2man.cmake
# The usage text's layout: a first line "blynkd - SUMMARY", then blocks headed by a
# line that ends in ':' at column 0 ("Usage:", "Commands:", "Options:"); each
# block becomes a section of the page, its lines kept as they are.
cmake_policy(SET CMP0007 NEW)  # keep empty lines as list elements
execute_process(COMMAND ${BLYNKD} --help OUTPUT_VARIABLE help RESULT_VARIABLE rc_help)
execute_process(COMMAND ${BLYNKD} --version OUTPUT_VARIABLE version RESULT_VARIABLE rc_version)
if(NOT rc_help EQUAL 0 OR NOT rc_version EQUAL 0)
  message(FATAL_ERROR "help2man.cmake: ${BLYNKD} --help/--version failed (${rc_help}, ${rc_version})")
endif()
string(STRIP "${version}" version)

# roff: a backslash is written \e; a line may not start with '.' or '\''.
function(roff_escape text out)
  string(REPLACE "\\" "\\e" text "${text}")
  string(REGEX REPLACE "(^|\n)([.'])" "\\1\\\\&\\2" text "${text}")
  string(REPLACE "-" "\\-" text "${text}")
  set(${out} "${text}" PARENT_SCOPE)
endfunction()

# A ';' in the text would split a CMake list: carried through as a placeholder.
string(REPLACE ";" "@SEMICOLON@" help "${help}")
string(REPLACE "\n" ";" lines "${help}")
list(POP_FRONT lines first)
string(REGEX REPLACE "^blynkd - " "" summary "${first}")
string(REPLACE "@SEMICOLON@" ";" summary "${summary}")
roff_escape("${summary}" summary)
roff_escape("${version}" version_roff)

set(page ".TH BLYNKD 1 \"\" \"${version_roff}\" \"User Commands\"\n")
string(APPEND page ".SH NAME\nblynkd \\- ${summary}\n")
set(in_block FALSE)
foreach(line IN LISTS lines)
  if(line MATCHES "^([A-Za-z][A-Za-z ]*):$")
    if(in_block)
      string(APPEND page ".fi\n")
    endif()
    string(TOUPPER "${CMAKE_MATCH_1}" heading)
    if(heading STREQUAL "USAGE")
      set(heading "SYNOPSIS")
    endif()
    string(APPEND page ".SH ${heading}\n.nf\n")
    set(in_block TRUE)
  elseif(line STREQUAL "")
    if(in_block)
      string(APPEND page "\n")
    endif()
  else()
    if(NOT line MATCHES "^ " AND NOT heading STREQUAL "NOTES")
      # Text at column 0 that is no heading (the closing note): a section of its own.
      if(in_block)
        string(APPEND page ".fi\n")
      endif()
      set(heading "NOTES")
      string(APPEND page ".SH NOTES\n.nf\n")
      set(in_block TRUE)
    endif()
    roff_escape("${line}" line)
    string(REPLACE "@SEMICOLON@" ";" line "${line}")
    string(APPEND page "${line}\n")
  endif()
endforeach()
if(in_block)
  string(APPEND page ".fi\n")
endif()
string(APPEND page ".SH SEE ALSO\ndocs/operator\\-guide.md and config/blynk.toml in the blynkd sources;\n"
                   "/etc/blynkd/blynk.toml when installed from the package.\n")
file(WRITE ${OUT} "${page}")
if(GZ)
  # Debian installs manual pages compressed; no time stamp or name inside, so the result is reproducible.
  file(ARCHIVE_CREATE OUTPUT ${GZ} PATHS ${OUT} FORMAT raw COMPRESSION GZip)
endif()
