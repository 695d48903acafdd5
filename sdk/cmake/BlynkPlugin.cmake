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
