# Install-time part of packaging/CMakeLists.txt: the files that live outside the prefix. Run by
# `cmake --install` and by CPack (prefix /usr, DESTDIR the staging root); file(INSTALL) adds
# DESTDIR itself.
if(CMAKE_INSTALL_PREFIX STREQUAL "/usr")
  set(etc /etc)
  set(unitdir /lib/systemd/system)
else()
  set(etc "${CMAKE_INSTALL_PREFIX}/etc")
  set(unitdir "${CMAKE_INSTALL_PREFIX}/lib/systemd/system")
endif()

# The unit names the installed paths.
set(POLLUX_BINDIR "${CMAKE_INSTALL_PREFIX}/${POLLUX_BINDIR_REL}")
set(POLLUX_SYSCONFDIR "${etc}")
configure_file(${POLLUX_SOURCE_DIR}/packaging/pollux.service.in ${POLLUX_STAGE_DIR}/pollux.service
               @ONLY)
file(INSTALL ${POLLUX_STAGE_DIR}/pollux.service DESTINATION ${unitdir}
     FILE_PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)

# An operator's configuration and secrets are never overwritten by a later `cmake --install`
# (the package's conffiles are dpkg's business, and its staging root is always fresh).
function(install_config source dir name mode)
  if(EXISTS "$ENV{DESTDIR}${dir}/${name}")
    message(STATUS "Kept: $ENV{DESTDIR}${dir}/${name} (exists)")
    return()
  endif()
  file(INSTALL ${source} DESTINATION ${dir} RENAME ${name} FILE_PERMISSIONS ${mode})
endfunction()
install_config(${POLLUX_SOURCE_DIR}/config/examples/pollux.yaml ${etc}/pollux pollux.yaml
               "OWNER_READ;OWNER_WRITE;GROUP_READ;WORLD_READ")
# Secrets: readable by root only; systemd reads it before dropping to the pollux user.
install_config(${POLLUX_SOURCE_DIR}/packaging/pollux.default ${etc}/default pollux
               "OWNER_READ;OWNER_WRITE")
