# SPDX-License-Identifier: Apache-2.0
# The version of the installed libmondoo (capi/tests/header.rs checks it equals the crate's).
# Compatible: the same major version, and while it is 0 the same minor version (every 0.x
# may change the ABI, as the SONAME libmondoo.so.0.x says).
set(PACKAGE_VERSION "0.1.0")

if(PACKAGE_FIND_VERSION)
  string(REPLACE "." ";" _mondoo_have "${PACKAGE_VERSION}")
  list(GET _mondoo_have 0 _mondoo_major)
  list(GET _mondoo_have 1 _mondoo_minor)
  if(PACKAGE_FIND_VERSION VERSION_GREATER PACKAGE_VERSION)
    set(PACKAGE_VERSION_COMPATIBLE FALSE)
  elseif(NOT PACKAGE_FIND_VERSION_MAJOR EQUAL _mondoo_major)
    set(PACKAGE_VERSION_COMPATIBLE FALSE)
  elseif(_mondoo_major EQUAL 0 AND NOT PACKAGE_FIND_VERSION_MINOR EQUAL _mondoo_minor)
    set(PACKAGE_VERSION_COMPATIBLE FALSE)
  else()
    set(PACKAGE_VERSION_COMPATIBLE TRUE)
    if(PACKAGE_FIND_VERSION VERSION_EQUAL PACKAGE_VERSION)
      set(PACKAGE_VERSION_EXACT TRUE)
    endif()
  endif()
  unset(_mondoo_have)
  unset(_mondoo_major)
  unset(_mondoo_minor)
else()
  set(PACKAGE_VERSION_COMPATIBLE TRUE)
endif()
