# blynk_add_plugin(<name> <sources...>)
# Builds a blynkd plugin: a loadable module named exactly <name> plus the
# platform's shared-library suffix (storage-sqlite.so, .dylib, .dll), with hidden
# visibility, so the kernel finds it by name. Used in-tree and by out-of-tree
# plugins through find_package(BlynkSDK).
function(blynk_add_plugin name)
  add_library(${name} MODULE ${ARGN})
  if(TARGET blynk::sdk)
    target_link_libraries(${name} PRIVATE blynk::sdk)
  endif()
  set_target_properties(${name} PROPERTIES
    PREFIX ""
    SUFFIX "${CMAKE_SHARED_LIBRARY_SUFFIX}"
    CXX_VISIBILITY_PRESET hidden
    C_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON)
  if(DEFINED BLYNK_PLUGIN_OUTPUT_DIR)
    set_target_properties(${name} PROPERTIES LIBRARY_OUTPUT_DIRECTORY ${BLYNK_PLUGIN_OUTPUT_DIR})
  endif()
endfunction()

# blynk_add_plugin_test(<name> SOURCES <files...> [PLUGIN <targets...>] [LIBRARIES <libs...>])
# Builds the executable <name> from SOURCES against blynk/plugin_testing.hpp
# (the fake host) and registers it with CTest as <name> (call enable_testing()
# or include(CTest) first). For each PLUGIN target (built by blynk_add_plugin)
# the test waits for the module to be built and gets its path as the macro
# BLYNK_PLUGIN_MODULE_<TARGET> (upper case, other characters as '_':
# storage-sqlite -> BLYNK_PLUGIN_MODULE_STORAGE_SQLITE); with exactly one
# PLUGIN, also as BLYNK_PLUGIN_MODULE. The test loads the module the way
# blynkd does, so it checks the exported entry and what hidden visibility
# leaves out. LIBRARIES are linked privately (a test framework, if any:
# plugin_testing.hpp needs none).
function(blynk_add_plugin_test name)
  cmake_parse_arguments(PARSE_ARGV 1 ARG "" "" "SOURCES;PLUGIN;LIBRARIES")
  if(NOT ARG_SOURCES)
    message(FATAL_ERROR "blynk_add_plugin_test(${name}): SOURCES is required")
  endif()
  # The fake host guards what plugins may call from other threads with a mutex.
  if(NOT TARGET Threads::Threads)
    find_package(Threads REQUIRED)
  endif()
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE blynk::sdk ${CMAKE_DL_LIBS} Threads::Threads ${ARG_LIBRARIES})
  list(LENGTH ARG_PLUGIN plugin_count)
  foreach(plugin IN LISTS ARG_PLUGIN)
    string(TOUPPER "${plugin}" ident)
    string(MAKE_C_IDENTIFIER "${ident}" ident)
    target_compile_definitions(${name} PRIVATE BLYNK_PLUGIN_MODULE_${ident}="$<TARGET_FILE:${plugin}>")
    if(plugin_count EQUAL 1)
      target_compile_definitions(${name} PRIVATE BLYNK_PLUGIN_MODULE="$<TARGET_FILE:${plugin}>")
    endif()
    add_dependencies(${name} ${plugin})
  endforeach()
  add_test(NAME ${name} COMMAND ${name})
endfunction()
