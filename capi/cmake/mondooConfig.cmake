# SPDX-License-Identifier: Apache-2.0
# CMake package of libmondoo, installed by `cargo cinstall` to <prefix>/share/mondoo/cmake.
#
#   find_package(mondoo CONFIG REQUIRED)
#   target_link_libraries(app PRIVATE mondoo::mondoo)          # libmondoo.so
#   target_link_libraries(app PRIVATE mondoo::mondoo_static)   # libmondoo.a
#
# Relocatable: everything is found relative to this file, so a prefix can be moved or
# staged with DESTDIR.

get_filename_component(_mondoo_prefix "${CMAKE_CURRENT_LIST_DIR}/../../.." ABSOLUTE)
set(_mondoo_libdirs "${_mondoo_prefix}/lib" "${_mondoo_prefix}/lib64")
if(CMAKE_LIBRARY_ARCHITECTURE)
  list(APPEND _mondoo_libdirs "${_mondoo_prefix}/lib/${CMAKE_LIBRARY_ARCHITECTURE}")
endif()

find_path(MONDOO_INCLUDE_DIR mondoo.h PATHS "${_mondoo_prefix}/include" NO_DEFAULT_PATH)
find_library(MONDOO_SHARED_LIBRARY NAMES mondoo PATHS ${_mondoo_libdirs} NO_DEFAULT_PATH)
find_library(MONDOO_STATIC_LIBRARY NAMES libmondoo.a PATHS ${_mondoo_libdirs} NO_DEFAULT_PATH)

foreach(_mondoo_var MONDOO_INCLUDE_DIR MONDOO_SHARED_LIBRARY MONDOO_STATIC_LIBRARY)
  if(NOT ${_mondoo_var})
    set(mondoo_FOUND FALSE)
    set(mondoo_NOT_FOUND_MESSAGE "libmondoo under ${_mondoo_prefix} is incomplete: ${_mondoo_var} not found")
  endif()
endforeach()
unset(_mondoo_var)

if(NOT DEFINED mondoo_FOUND AND NOT TARGET mondoo::mondoo)
  add_library(mondoo::mondoo SHARED IMPORTED)
  set_target_properties(mondoo::mondoo PROPERTIES
    IMPORTED_LOCATION "${MONDOO_SHARED_LIBRARY}"
    INTERFACE_INCLUDE_DIRECTORIES "${MONDOO_INCLUDE_DIR}")

  # The static library carries the Rust standard library and aws-lc; these are what they
  # need from the system (the same as Libs.private in mondoo.pc).
  set(THREADS_PREFER_PTHREAD_FLAG ON)
  include(CMakeFindDependencyMacro)
  find_dependency(Threads)
  add_library(mondoo::mondoo_static STATIC IMPORTED)
  set(_mondoo_static_deps Threads::Threads ${CMAKE_DL_LIBS})
  if(CMAKE_SYSTEM_NAME STREQUAL "Linux")
    list(APPEND _mondoo_static_deps m rt)
  elseif(APPLE)
    list(APPEND _mondoo_static_deps "-framework Security" "-framework CoreFoundation" "-framework SystemConfiguration")
  endif()
  set_target_properties(mondoo::mondoo_static PROPERTIES
    IMPORTED_LOCATION "${MONDOO_STATIC_LIBRARY}"
    INTERFACE_INCLUDE_DIRECTORIES "${MONDOO_INCLUDE_DIR}"
    INTERFACE_LINK_LIBRARIES "${_mondoo_static_deps}")
endif()

unset(_mondoo_prefix)
unset(_mondoo_libdirs)
unset(_mondoo_static_deps)
