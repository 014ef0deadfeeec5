# Compiler flags shared by every keel target: warnings, sanitizers.

add_library(keel_sanitizers INTERFACE)
if(KEEL_SANITIZE STREQUAL "address")
  target_compile_options(keel_sanitizers INTERFACE
    -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer)
  target_link_options(keel_sanitizers INTERFACE -fsanitize=address,undefined)
elseif(KEEL_SANITIZE STREQUAL "thread")
  target_compile_options(keel_sanitizers INTERFACE -fsanitize=thread -fno-omit-frame-pointer)
  target_link_options(keel_sanitizers INTERFACE -fsanitize=thread)
endif()

# Warnings for keel's own targets. -Werror only when KEEL_WERROR is on (CI), never for users of
# the installed package.
function(keel_target_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor
                                           -Wcast-align -Wno-missing-field-initializers)
  if(KEEL_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
  target_link_libraries(${target} PRIVATE $<BUILD_INTERFACE:keel_sanitizers>)
endfunction()
