# Install rules and the CMake package for keel: `cmake --install build --prefix P` lets another
# project say `find_package(keel REQUIRED)` + `target_link_libraries(app PRIVATE keel::keel)`.
# Included from the top-level CMakeLists.txt when KEEL_INSTALL is on. scripts/install_test.sh
# proves the result by building tests/install/ against an installed tree.
#
# The installed package never carries keel's warning flags, -Werror or sanitizer flags: those are
# PRIVATE or wrapped in $<BUILD_INTERFACE:...> (cmake/keel_options.cmake).

include(CMakePackageConfigHelpers)

set(KEEL_INSTALL_CMAKEDIR "${CMAKE_INSTALL_LIBDIR}/cmake/keel"
    CACHE STRING "Where the keel CMake package files are installed, relative to the prefix")
mark_as_advanced(KEEL_INSTALL_CMAKEDIR)

if(KEEL_SANITIZE)
  # Said at install time, not at every configure of a sanitizer build.
  install(CODE "message(WARNING \"keel: installing a KEEL_SANITIZE=${KEEL_SANITIZE} build; the \"
                \"package does not pass sanitizer flags on: consumers must add them themselves\")")
endif()

install(TARGETS keel keel_throw_hook EXPORT keelTargets
        OBJECTS DESTINATION ${CMAKE_INSTALL_LIBDIR}/keel-objects
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/keel
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
        FILES_MATCHING PATTERN "*.h")
install(EXPORT keelTargets
        NAMESPACE keel::
        DESTINATION ${KEEL_INSTALL_CMAKEDIR})

# keelConfig.cmake recreates the targets that keel's link interface names (a static libkeel.a
# carries its PRIVATE dependencies as $<LINK_ONLY:...>): Threads::Threads, PkgConfig::keel_xxhash,
# PkgConfig::keel_lz4 and, in a mimalloc build, mimalloc.
configure_package_config_file(
  ${PROJECT_SOURCE_DIR}/cmake/keelConfig.cmake.in
  ${PROJECT_BINARY_DIR}/keelConfig.cmake
  INSTALL_DESTINATION ${KEEL_INSTALL_CMAKEDIR}
  NO_SET_AND_CHECK_MACRO)
write_basic_package_version_file(
  ${PROJECT_BINARY_DIR}/keelConfigVersion.cmake
  VERSION ${PROJECT_VERSION}
  COMPATIBILITY SameMajorVersion)
install(FILES ${PROJECT_BINARY_DIR}/keelConfig.cmake ${PROJECT_BINARY_DIR}/keelConfigVersion.cmake
        DESTINATION ${KEEL_INSTALL_CMAKEDIR})
